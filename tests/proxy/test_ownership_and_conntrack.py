"""Privileged: the proxy leaves others' rules alone, adopts leftovers, and clears UDP conntrack.

Same throwaway node as test_dnat_in_netns (see netlab.py): a foreign iptables chain and a
foreign nft table must survive syncs and the proxy's own cleanup; a new proxier must remove the
stale chains an earlier one left; and a UDP flow pinned to an endpoint that goes away must move
to a live endpoint because the proxy deletes its conntrack entry.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodelab.host.commands import run
from nodelab.proxy import Proxier, ProxyNode, read_metrics
from nodelab.proxy.iptables.apply import existing_chains
from nodelab.proxy.nftables.apply import existing_objects
from tests.proxy.builders import endpoints, service, state
from tests.proxy.netlab import WEB_IPS, NodeLab, node_lab

pytestmark = [
    pytest.mark.privileged,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and rules"),
    pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox (busybox-static)"),
    pytest.mark.skipif(shutil.which("conntrack") is None, reason="needs conntrack (conntrack)"),
]
NODE = ProxyNode("node1")


@pytest.fixture(scope="module")
def lab() -> Iterator[NodeLab]:
    with node_lab() as made:
        yield made


@pytest.fixture(scope="module")
def udp_lab(lab: NodeLab) -> NodeLab:
    """The lab with a UDP server answering its pod's name on :5353 in pods 1 and 2."""
    lab.start_udp_server(lab.pod(1), 5353, "udp-1")
    lab.start_udp_server(lab.pod(2), 5353, "udp-2")  # each returns once bound
    return lab


def sh(lab: NodeLab, *argv: str) -> str:
    return run(["ip", "netns", "exec", lab.node, *argv]).stdout


def web(*ips: str):  # type: ignore[no-untyped-def]
    return state(service("web", "10.96.0.10"), endpoints("web", *ips))


@pytest.mark.parametrize("mode", ["iptables", "nftables"])
def test_foreign_rules_survive_syncs_and_cleanup(lab: NodeLab, mode: str) -> None:
    foreign = f"{lab.prefix.upper()}-FOREIGN"
    table = f"{lab.prefix}-other"
    sh(lab, "iptables", "-t", "nat", "-N", foreign)
    sh(lab, "iptables", "-t", "nat", "-A", foreign, "-d", "10.99.0.1", "-j", "RETURN")
    sh(lab, "iptables", "-t", "nat", "-A", "POSTROUTING", "-j", foreign)
    sh(lab, "nft", "add", "table", "ip", table)
    sh(lab, "nft", "add", "chain", "ip", table, "c")
    sh(lab, "nft", "add", "rule", "ip", table, "c", "ip", "daddr", "10.99.0.1", "accept")
    proxier = Proxier(NODE, mode, lab.node)
    try:
        proxier.start()
        proxier.sync(web(*WEB_IPS))
        proxier.sync(web(WEB_IPS[0]))
        proxier.sync(web(*WEB_IPS), force_full=True)
        proxier.remove_rules()
        saved = sh(lab, "iptables-save", "-t", "nat")
        assert f"-A {foreign} -d 10.99.0.1/32 -j RETURN" in saved
        assert f"-A POSTROUTING -j {foreign}" in saved
        assert "KUBE-" not in saved
        assert "10.99.0.1 accept" in sh(lab, "nft", "list", "table", "ip", table)
    finally:
        proxier.remove_rules()
        sh(lab, "iptables", "-t", "nat", "-D", "POSTROUTING", "-j", foreign)
        sh(lab, "iptables", "-t", "nat", "-F", foreign)
        sh(lab, "iptables", "-t", "nat", "-X", foreign)
        sh(lab, "nft", "delete", "table", "ip", table)


def test_new_proxier_removes_what_an_old_one_left(lab: NodeLab) -> None:
    old = Proxier(NODE, "iptables", lab.node)
    try:
        old.sync(web(*WEB_IPS))
        left = {c for c in existing_chains(old.ns) if c.startswith("KUBE-SEP-")}
        assert len(left) == 3
        new = Proxier(NODE, "iptables", lab.node)  # a restarted proxy process
        record = new.sync(web(WEB_IPS[0]))
        assert record.full and record.chains_deleted == 2
        now = {c for c in existing_chains(new.ns) if c.startswith("KUBE-SEP-")}
        assert len(now) == 1 and now < left
    finally:
        old.remove_rules()


def test_new_nft_proxier_adopts_the_table_an_old_one_left(lab: NodeLab) -> None:
    old = Proxier(NODE, "nftables", lab.node)
    try:
        old.sync(web(*WEB_IPS))
        new = Proxier(NODE, "nftables", lab.node)  # a restarted proxy process
        first = new.sync(web(WEB_IPS[0]))
        assert first.full and first.chains_deleted == 2  # flushed now ...
        second = new.sync(web(WEB_IPS[0]))
        assert not second.full
        chains, _ = existing_objects(new.ns)
        assert len([c for c in chains if c.startswith("endpoint-")]) == 1  # ... deleted now
        seen = lab.requests(lab.node, "10.96.0.10", 80, 10)
        assert seen.errors == {} and seen.seen == {"pod-1": 10}
    finally:
        old.remove_rules()


@pytest.mark.parametrize("mode", ["iptables", "nftables"])
def test_udp_flow_moves_when_its_endpoint_goes_away(udp_lab: NodeLab, mode: str) -> None:
    lab = udp_lab
    dns = state(
        service("dns", "10.96.0.53", 53, protocol="UDP", port_name="dns"),
        endpoints("dns", WEB_IPS[0], WEB_IPS[1], port=5353, protocol="UDP", port_name="dns"),
    )
    proxier = Proxier(NODE, mode, lab.node)
    try:
        proxier.start()
        proxier.sync(dns)
        first = lab.udp_request(lab.node, "10.96.0.53", 53, 40053)
        assert first in ("udp-1", "udp-2")
        assert lab.udp_request(lab.node, "10.96.0.53", 53, 40053) == first  # pinned by conntrack
        survivor = "udp-2" if first == "udp-1" else "udp-1"
        keep = WEB_IPS[1] if survivor == "udp-2" else WEB_IPS[0]
        proxier.sync(
            state(
                service("dns", "10.96.0.53", 53, protocol="UDP", port_name="dns"),
                endpoints("dns", keep, port=5353, protocol="UDP", port_name="dns"),
            )
        )
        # The old pod still answers, so only the conntrack cleanup can move the flow.
        assert lab.udp_request(lab.node, "10.96.0.53", 53, 40053) == survivor
    finally:
        proxier.remove_rules()


def test_sync_metrics_are_written_for_views(lab: NodeLab, tmp_path: Path) -> None:
    path = tmp_path / "proxy-metrics.json"
    proxier = Proxier(NODE, "nftables", lab.node, metrics_path=path)
    try:
        proxier.sync(web(*WEB_IPS))
        proxier.sync(web(*WEB_IPS[:2]))
        data = read_metrics(path)
        assert data["mode"] == "nftables" and data["syncs"] == 2 and data["failures"] == 0
        assert data["last_full"]["full"] and not data["last_partial"]["full"]
        assert data["last"] == data["last_partial"]
        assert data["last_full"]["rules_total"] == 8  # masq + numgen + 3 x (masq, dnat)
        assert data["last_partial"]["services_written"] == 1
        assert data["last_partial"]["duration_seconds"] > 0
    finally:
        proxier.remove_rules()


def test_a_metrics_file_that_cannot_be_written_does_not_fail_the_sync(
        lab: NodeLab, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """As on a full state filesystem: the metrics are for views, the rules are the proxy's job
    (a raise here ended the proxy process; tests/faults/test_state_disk_full.py saw it)."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    proxier = Proxier(NODE, "nftables", lab.node, metrics_path=blocker / "proxy-metrics.json")
    try:
        record = proxier.sync(web(*WEB_IPS))
        assert record.ok and record.rules_total == 8
        assert any("sync metrics not written" in r.getMessage() for r in caplog.records)
        assert "10.96.0.10" in sh(lab, "nft", "list", "table", "ip", "kube-proxy")
    finally:
        proxier.remove_rules()
