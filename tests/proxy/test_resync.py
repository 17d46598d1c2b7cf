"""Privileged: when the proxier writes everything again, and that it then works.

Same throwaway node as test_dnat_in_netns (see netlab.py). Partial syncs trust the last plan,
so the proxier must notice when the kernel no longer holds it: someone flushed the rules
(upstream's canary chains; in nftables mode, the table is gone), or the last apply failed.
Each case is followed by real traffic through the ClusterIP. A full sync that finds its jumps
in place must not add them again.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from nodelab.errors import NodelabError
from nodelab.host.commands import run
from nodelab.proxy import Proxier, ProxyNode
from tests.proxy.builders import endpoints, service, state
from tests.proxy.netlab import WEB_IPS, NodeLab, node_lab

pytestmark = [
    pytest.mark.privileged,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and rules"),
    pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox (busybox-static)"),
]
NODE = ProxyNode("node1")
PODS = {"pod-1", "pod-2", "pod-3"}


@pytest.fixture(scope="module")
def lab() -> Iterator[NodeLab]:
    with node_lab() as made:
        yield made


def sh(lab: NodeLab, *argv: str) -> str:
    return run(["ip", "netns", "exec", lab.node, *argv]).stdout


def web(*ips: str):  # type: ignore[no-untyped-def]
    return state(service("web", "10.96.0.10"), endpoints("web", *ips))


def assert_answers(lab: NodeLab, pods: set[str]) -> None:
    seen = lab.requests(lab.node, "10.96.0.10", 80, 60)
    assert seen.errors == {} and set(seen.seen) == pods, seen


def flush_everything(lab: NodeLab, mode: str) -> None:
    """What a firewall reload does to the node: every chain of these tables gone."""
    if mode == "nftables":
        sh(lab, "nft", "delete", "table", "ip", "kube-proxy")
        return
    for table in ("mangle", "nat", "filter"):
        sh(lab, "iptables", "-t", table, "-F")
        sh(lab, "iptables", "-t", table, "-X")


@pytest.mark.parametrize("mode", ["iptables", "nftables"])
def test_rules_flushed_by_someone_else_are_written_again_in_full(lab: NodeLab, mode: str) -> None:
    proxier = Proxier(NODE, mode, lab.node, flush_check_period=0.0)
    try:
        proxier.start()
        assert proxier.sync(web(*WEB_IPS)).full
        assert not proxier.sync(web(*WEB_IPS)).full  # the canary is there: partial
        flush_everything(lab, mode)
        record = proxier.sync(web(*WEB_IPS))
        assert record.full and record.reason == "the rules were flushed by someone else"
        assert_answers(lab, PODS)
        assert not proxier.sync(web(*WEB_IPS)).full
    finally:
        proxier.remove_rules()


def test_a_full_sync_finds_its_jumps_in_place_and_adds_none(lab: NodeLab) -> None:
    proxier = Proxier(NODE, "iptables", lab.node)
    try:
        proxier.start()
        proxier.sync(web(*WEB_IPS))
        before = sh(lab, "iptables-save")
        again = proxier.sync(web(*WEB_IPS), force_full=True)
        assert again.full and again.reason == "a full sync was asked for"
        after = sh(lab, "iptables-save")
        jumps = [line for line in after.splitlines() if line.startswith("-A PREROUTING")]
        assert jumps == [line for line in before.splitlines() if line.startswith("-A PREROUTING")]
        assert len([j for j in jumps if j.endswith("-j KUBE-SERVICES")]) == 1
        assert after.count(":KUBE-PROXY-CANARY - [0:0]") == 3  # mangle, nat, filter
    finally:
        proxier.remove_rules()
    assert "KUBE-" not in sh(lab, "iptables-save")


def test_after_a_failed_apply_the_next_sync_is_full_and_repairs(lab: NodeLab) -> None:
    proxier = Proxier(NODE, "iptables", lab.node)
    try:
        proxier.start()
        proxier.sync(web(*WEB_IPS))
        # Someone else's rule jumps to the endpoint chain of pod-3, so the partial sync that
        # drops pod-3 cannot delete that chain: iptables-restore fails and changes nothing.
        sep = proxier.plan.blocks[("demo", "web")].chains[-1]
        sh(lab, "iptables", "-t", "nat", "-I", "OUTPUT", "-d", "10.99.0.9", "-j", sep)
        with pytest.raises(NodelabError, match="the next sync is a full one"):
            proxier.sync(web(*WEB_IPS[:2]))
        assert proxier.metrics.last is not None and not proxier.metrics.last.ok
        assert_answers(lab, PODS)  # the old rules are all still there
        sh(lab, "iptables", "-t", "nat", "-D", "OUTPUT", "-d", "10.99.0.9", "-j", sep)
        record = proxier.sync(web(*WEB_IPS[:2]))
        assert record.full and record.reason == "the last apply failed"
        assert record.chains_deleted == 1
        assert_answers(lab, {"pod-1", "pod-2"})
    finally:
        proxier.remove_rules()
