"""Privileged: real Service DNAT in a throwaway node namespace, in both proxy modes.

Three busybox httpd "pods" sit behind a ClusterIP. The rules come from the real `Proxier`
(render, then iptables-restore or nft -f inside nl<id>-node), and real TCP connections check
what a learner would: requests spread over every ready pod, an unready pod gets nothing, a
Service without endpoints is refused at once, ClientIP affinity sticks, a NodePort answers a
call from another node, and a pod reaching itself through its Service works (hairpin).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator

import pytest

from nodelab.host.commands import run
from nodelab.proxy import Proxier, ProxyNode
from tests.proxy.builders import endpoints, service, state
from tests.proxy.netlab import CLIENT_IP, EXT_IP, NODE_IP, WEB_IPS, NodeLab, node_lab

pytestmark = [
    pytest.mark.privileged,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and rules"),
    pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox (busybox-static)"),
]

MODES = ("iptables", "nftables")
NODE = ProxyNode("node1")


def services(ready: tuple[str, ...] = WEB_IPS):  # type: ignore[no-untyped-def]
    not_ready = tuple(ip for ip in WEB_IPS if ip not in ready)
    return state(
        service("web", "10.96.0.10", node_port=30080),
        endpoints("web", *WEB_IPS, not_ready=not_ready),
        service("empty", "10.96.0.11"),
        service("sticky", "10.96.0.12", session_affinity="ClientIP", sticky_seconds=300),
        endpoints("sticky", *WEB_IPS),
    )


@pytest.fixture(scope="module")
def lab() -> Iterator[NodeLab]:
    with node_lab() as made:
        yield made


@pytest.fixture(params=MODES)
def proxier(request: pytest.FixtureRequest, lab: NodeLab) -> Iterator[Proxier]:
    proxier = Proxier(NODE, request.param, lab.node)
    proxier.start()
    try:
        yield proxier
    finally:
        proxier.remove_rules()


def assert_spread(seen: dict[str, int], total: int, pods: tuple[str, ...]) -> None:
    assert set(seen) == set(pods), seen
    assert sum(seen.values()) == total
    for pod in pods:
        assert seen[pod] >= 0.2 * total, seen


def test_cluster_ip_spreads_over_all_pods_from_node_and_pod(lab: NodeLab, proxier: Proxier) -> None:
    proxier.sync(services())
    from_node = lab.requests(lab.node, "10.96.0.10", 80, 300)
    assert from_node.errors == {}
    assert_spread(from_node.seen, 300, ("pod-1", "pod-2", "pod-3"))
    from_pod = lab.requests(lab.client, "10.96.0.10", 80, 300)
    assert from_pod.errors == {}
    assert_spread(from_pod.seen, 300, ("pod-1", "pod-2", "pod-3"))


def test_unready_pod_gets_nothing_after_a_partial_sync(lab: NodeLab, proxier: Proxier) -> None:
    proxier.sync(services())
    record = proxier.sync(services(ready=WEB_IPS[:2]))
    assert not record.full and record.services_written == 1
    seen = lab.requests(lab.node, "10.96.0.10", 80, 200)
    assert seen.errors == {} and "pod-3" not in seen.seen
    assert_spread(seen.seen, 200, ("pod-1", "pod-2"))


def test_service_without_endpoints_is_refused_at_once(lab: NodeLab, proxier: Proxier) -> None:
    proxier.sync(services())
    # Few tries from the pod: the kernel rate-limits ICMP errors per destination (a burst of
    # 6, then one a second), and a rate-limited refusal only comes with the SYN's retry.
    for netns, tries in ((lab.node, 5), (lab.client, 2)):
        refused = lab.requests(netns, "10.96.0.11", 80, tries)
        # refused, not dropped: a dropped SYN would end in TimeoutError after 3 s
        assert refused.seen == {} and refused.errors == {"ConnectionRefusedError": tries}


def test_client_ip_affinity_sticks(lab: NodeLab, proxier: Proxier) -> None:
    proxier.sync(services())
    for netns in (lab.node, lab.client):
        seen = lab.requests(netns, "10.96.0.12", 80, 40)
        assert seen.errors == {} and len(seen.seen) == 1, seen.seen


def test_node_port_answers_from_another_node(lab: NodeLab, proxier: Proxier) -> None:
    proxier.sync(services())
    seen = lab.requests(lab.ext, NODE_IP, 30080, 60)
    assert seen.errors == {}
    assert set(seen.seen) <= {"pod-1", "pod-2", "pod-3"} and len(seen.seen) >= 2


def test_hairpin_pod_reaches_itself_through_its_service(lab: NodeLab, proxier: Proxier) -> None:
    only_pod1 = state(service("web", "10.96.0.10"), endpoints("web", WEB_IPS[0]))
    proxier.sync(only_pod1)
    seen = lab.requests(lab.pod(1), "10.96.0.10", 80, 10)
    assert seen.errors == {} and seen.seen == {"pod-1": 10}


def test_switching_mode_removes_the_old_rules(lab: NodeLab) -> None:
    proxier = Proxier(NODE, "iptables", lab.node)
    try:
        proxier.start()
        proxier.sync(services())
        assert "KUBE-SERVICES" in run(["ip", "netns", "exec", lab.node, "iptables-save"]).stdout
        proxier.switch_mode("nftables")
        record = proxier.sync(services())
        assert record.full and record.mode == "nftables"
        saved = run(["ip", "netns", "exec", lab.node, "iptables-save"]).stdout
        assert "KUBE-" not in saved
        seen = lab.requests(lab.node, "10.96.0.10", 80, 30)
        assert seen.errors == {} and len(seen.seen) >= 2
        proxier.switch_mode("iptables")
        proxier.sync(services())
        tables = run(["ip", "netns", "exec", lab.node, "nft", "list", "tables"]).stdout
        assert "kube-proxy" not in tables
    finally:
        proxier.remove_rules()
    assert "KUBE-" not in run(["ip", "netns", "exec", lab.node, "iptables-save"]).stdout


def test_traffic_policies_local(lab: NodeLab, proxier: Proxier) -> None:
    elsewhere = {WEB_IPS[1]: "node2", WEB_IPS[2]: "node2"}  # only pod-1 is on this node
    proxier.sync(
        state(
            service("web", "10.96.0.10", node_port=30080, external_traffic_policy="Local"),
            endpoints("web", *WEB_IPS, nodes=elsewhere),
            service("internal", "10.96.0.13", internal_traffic_policy="Local"),
            endpoints("internal", *WEB_IPS, nodes=elsewhere),
        )
    )
    external = lab.requests(lab.ext, NODE_IP, 30080, 30)
    assert external.errors == {} and external.seen == {"pod-1": 30}
    cluster = lab.requests(lab.node, "10.96.0.10", 80, 150)  # internal policy is Cluster
    assert cluster.errors == {} and len(cluster.seen) == 3
    internal = lab.requests(lab.client, "10.96.0.13", 80, 30)
    assert internal.errors == {} and internal.seen == {"pod-1": 30}


def test_localhost_node_port_in_iptables_mode(lab: NodeLab) -> None:
    proxier = Proxier(NODE, "iptables", lab.node)
    try:
        proxier.sync(services())
        seen = lab.requests(lab.node, "127.0.0.1", 30080, 30)
        assert seen.errors == {} and len(seen.seen) >= 2
        assert "KUBE-FIREWALL" in run(["ip", "netns", "exec", lab.node, "iptables-save"]).stdout
    finally:
        proxier.remove_rules()


@pytest.fixture(scope="module")
def who_lab(lab: NodeLab) -> NodeLab:
    """The lab with a server on :9090 in each pod that says who called it."""
    for i in (1, 2, 3):
        lab.start_who_server(lab.pod(i), 9090, f"pod-{i}")
    deadline = time.monotonic() + 10
    for ip in WEB_IPS:
        while lab.requests(lab.node, ip, 9090, 1).errors:
            assert time.monotonic() < deadline, f"who-server on {ip} did not start"
            time.sleep(0.1)
    return lab


def sources(seen: dict[str, int]) -> set[str]:
    return {answer.split(" from ")[1] for answer in seen}


def test_masquerade_only_where_upstream_does(who_lab: NodeLab, proxier: Proxier) -> None:
    lab = who_lab
    proxier.sync(
        state(
            service("who", "10.96.0.20", 80, node_port=30090),
            endpoints("who", WEB_IPS[0], port=9090),
            service("whol", "10.96.0.21", 80, node_port=30091, external_traffic_policy="Local"),
            endpoints("whol", WEB_IPS[0], port=9090),
        )
    )
    # Pod to ClusterIP: the pod's own address survives (inside the cluster CIDR).
    assert sources(lab.requests(lab.client, "10.96.0.20", 80, 5).seen) == {CLIENT_IP}
    # Node to ClusterIP: masqueraded (outside the cluster CIDR), here to the pod bridge's IP.
    assert sources(lab.requests(lab.node, "10.96.0.20", 80, 5).seen) == {"10.244.1.1"}
    # NodePort, externalTrafficPolicy Cluster: masqueraded, the client's address is lost.
    assert sources(lab.requests(lab.ext, NODE_IP, 30090, 5).seen) == {"10.244.1.1"}
    # NodePort, externalTrafficPolicy Local: the client's address is kept.
    assert sources(lab.requests(lab.ext, NODE_IP, 30091, 5).seen) == {EXT_IP}
