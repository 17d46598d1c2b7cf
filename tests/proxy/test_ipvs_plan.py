"""The IPVS-mode plan: virtual and real servers, kube-ipvs0's addresses, ipsets, fixed iptables
rules, as upstream's pkg/proxy/ipvs/proxier.go writes them."""

from __future__ import annotations

import pytest

from nodelab.proxy import ProxyNode
from nodelab.proxy.ipvs.plan import RealServer, render_ipvs
from nodelab.proxy.ipvs.show import NOT_APPLIED, ipvsadm_text, show_ipvs
from tests.proxy.builders import NODE, endpoints, service, state

pytestmark = pytest.mark.unit
NODE_ADDRS = ("10.0.0.2", "127.0.0.1")
WEB = service("web", "10.96.0.10", node_port=30080)


def rs(*addresses: str, port: int = 8080) -> tuple[RealServer, ...]:
    return tuple(RealServer(a, port) for a in addresses)


def nat(payload: str) -> list[str]:
    return payload.split("*filter")[0].splitlines()


def filt(payload: str) -> list[str]:
    return payload.split("*filter")[1].splitlines()


def test_one_virtual_server_per_cluster_ip_and_node_address() -> None:
    plan = render_ipvs(state(WEB, endpoints("web", "10.244.1.3", "10.244.1.2")), NODE, NODE_ADDRS)
    assert [(v.key, v.kind, v.scheduler) for v in plan.virtual_servers] == [
        ("10.96.0.10:80/TCP", "ClusterIP", "rr"),
        ("10.0.0.2:30080/TCP", "NodePort", "rr"),
        ("127.0.0.1:30080/TCP", "NodePort", "rr"),
    ]
    for vs in plan.virtual_servers:  # sorted, weight 1 each
        assert vs.real_servers == rs("10.244.1.2", "10.244.1.3")
        assert vs.service == "demo/web:http"
    assert plan.bound_addresses == ("10.96.0.10",)  # NodePorts use the node's own addresses


@pytest.mark.parametrize(
    ("slice_kw", "expected"),
    [
        ({}, ("10.244.1.2", "10.244.1.3")),
        ({"not_ready": ("10.244.1.3",)}, ("10.244.1.2",)),
        # terminating endpoints only when no endpoint is ready (CategorizeEndpoints)
        ({"terminating": ("10.244.1.3",)}, ("10.244.1.2",)),
        ({"terminating": ("10.244.1.2", "10.244.1.3")}, ("10.244.1.2", "10.244.1.3")),
        ({"not_ready": ("10.244.1.2", "10.244.1.3")}, ()),
    ],
)
def test_real_servers_follow_endpoint_conditions(
    slice_kw: dict[str, tuple[str, ...]], expected: tuple[str, ...]
) -> None:
    st = state(WEB, endpoints("web", "10.244.1.2", "10.244.1.3", **slice_kw))  # type: ignore[arg-type]
    plan = render_ipvs(st, NODE, NODE_ADDRS)
    assert plan.virtual_server("10.96.0.10:80/TCP").real_servers == rs(*expected)


def test_service_without_endpoints_still_has_its_virtual_server() -> None:
    plan = render_ipvs(state(WEB), NODE, NODE_ADDRS)
    assert plan.virtual_server("10.96.0.10:80/TCP").real_servers == ()
    assert plan.ipset("KUBE-CLUSTER-IP").entries == ("10.96.0.10,tcp:80",)


@pytest.mark.parametrize(
    ("policy", "cluster_ip_servers", "node_port_servers"),
    [
        # externalTrafficPolicy Local: NodePorts get local endpoints, the ClusterIP all of them
        ({"external_traffic_policy": "Local"}, ("10.244.1.2", "10.244.2.2"), ("10.244.1.2",)),
        # internalTrafficPolicy Local: the ClusterIP gets local endpoints
        ({"internal_traffic_policy": "Local"}, ("10.244.1.2",), ("10.244.1.2", "10.244.2.2")),
    ],
)
def test_local_policies_pick_local_endpoints(
    policy: dict[str, str],
    cluster_ip_servers: tuple[str, ...],
    node_port_servers: tuple[str, ...],
) -> None:
    svc = service("web", "10.96.0.10", node_port=30080, **policy)  # type: ignore[arg-type]
    eps = endpoints("web", "10.244.1.2", "10.244.2.2", nodes={"10.244.2.2": "node2"})
    plan = render_ipvs(state(svc, eps), NODE, NODE_ADDRS)
    assert plan.virtual_server("10.96.0.10:80/TCP").real_servers == rs(*cluster_ip_servers)
    assert plan.virtual_server("10.0.0.2:30080/TCP").real_servers == rs(*node_port_servers)


def test_external_local_without_local_endpoints_falls_back_to_the_cluster() -> None:
    """Upstream PR 97081: a Local NodePort with no endpoint on this node keeps the cluster's."""
    svc = service("web", "10.96.0.10", node_port=30080, external_traffic_policy="Local")
    eps = endpoints("web", "10.244.2.2", nodes={"10.244.2.2": "node2"})
    plan = render_ipvs(state(svc, eps), NODE, NODE_ADDRS)
    assert plan.virtual_server("10.0.0.2:30080/TCP").real_servers == rs("10.244.2.2")
    assert plan.ipset("KUBE-NODE-PORT-LOCAL-TCP").entries == ("30080",)


def test_session_affinity_makes_the_virtual_server_persistent() -> None:
    svc = service("web", "10.96.0.10", session_affinity="ClientIP", sticky_seconds=600)
    vs = render_ipvs(state(svc), NODE).virtual_servers[0]
    assert vs.persistent_seconds == 600 and vs.flags == ("persistent",)
    assert "TCP  10.96.0.10:80 rr persistent timeout 600" in ipvsadm_text(
        render_ipvs(state(svc), NODE))


@pytest.mark.parametrize(("scheduler", "flags"), [("rr", ()), ("wlc", ()),
                                                  ("mh", ("hashed", "sh-port"))])
def test_scheduler(scheduler: str, flags: tuple[str, ...]) -> None:
    vs = render_ipvs(state(WEB), NODE, scheduler=scheduler).virtual_servers[0]
    assert (vs.scheduler, vs.flags) == (scheduler, flags)


def test_unknown_scheduler_is_refused() -> None:
    with pytest.raises(ValueError, match="IPVS scheduler 'fast': use one of rr, wrr"):
        render_ipvs(state(WEB), NODE, scheduler="fast")


def test_external_ips_bind_unless_the_node_owns_them() -> None:
    svc = service("web", "10.96.0.10", external_ips=("192.0.2.7", "10.0.0.2"))
    plan = render_ipvs(state(svc, endpoints("web", "10.244.1.2")), NODE, NODE_ADDRS)
    assert [v.key for v in plan.virtual_servers if v.kind == "ExternalIP"] == [
        "192.0.2.7:80/TCP", "10.0.0.2:80/TCP"]
    assert plan.bound_addresses == ("10.96.0.10", "192.0.2.7")
    assert plan.ipset("KUBE-EXTERNAL-IP").entries == ("10.0.0.2,tcp:80", "192.0.2.7,tcp:80")
    assert plan.ipset("KUBE-IPVS-IPS").entries == ("10.96.0.10", "192.0.2.7")
    rules = nat(plan.iptables_payload)
    head = ('-A KUBE-SERVICES -m comment --comment "Kubernetes service external ip + port for '
            'masquerade and filter purpose" -m set --match-set KUBE-EXTERNAL-IP dst,dst')
    assert rules.index(f"{head} -j KUBE-MARK-MASQ") + 1 == rules.index(
        f"{head} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT")


def test_ipsets_hold_upstream_entries() -> None:
    dns = service("dns", "10.96.0.53", 53, protocol="UDP", port_name="dns", node_port=30053)
    st = state(WEB, endpoints("web", "10.244.1.2", "10.244.2.2", nodes={"10.244.2.2": "node2"}),
               dns, endpoints("dns", "10.244.1.5", port=53, protocol="UDP", port_name="dns"))
    plan = render_ipvs(st, NODE, NODE_ADDRS)
    assert plan.ipset("KUBE-CLUSTER-IP").entries == ("10.96.0.10,tcp:80", "10.96.0.53,udp:53")
    # only this node's endpoints can hairpin through it
    assert plan.ipset("KUBE-LOOP-BACK").entries == (
        "10.244.1.2,tcp:8080,10.244.1.2", "10.244.1.5,udp:53,10.244.1.5")
    assert plan.ipset("KUBE-NODE-PORT-TCP").entries == ("30080",)
    assert plan.ipset("KUBE-NODE-PORT-UDP").entries == ("30053",)
    assert plan.ipset("KUBE-NODE-PORT-UDP").type == "bitmap:port"
    assert plan.ipset("KUBE-LOOP-BACK").type == "hash:ip,port,ip"
    script = plan.ipset_script
    assert "create KUBE-NODE-PORT-TCP bitmap:port range 0-65535 comment -exist\n" in script
    assert "add KUBE-CLUSTER-IP 10.96.0.10,tcp:80 -exist\n" in script
    assert len([s for s in plan.ipsets if s.empty]) == 17 - 5


def test_fixed_iptables_rules_match_the_sets() -> None:
    plan = render_ipvs(state(WEB, endpoints("web", "10.244.1.2")), NODE, NODE_ADDRS)
    assert nat(plan.iptables_payload) == [
        "*nat",
        ":KUBE-SERVICES - [0:0]",
        ":KUBE-POSTROUTING - [0:0]",
        ":KUBE-NODE-PORT - [0:0]",
        ":KUBE-LOAD-BALANCER - [0:0]",
        ":KUBE-MARK-MASQ - [0:0]",
        "-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN",
        '-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip '
        'for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE',
        '-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for '
        'masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ',
        '-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for '
        'masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 '
        "-j KUBE-MARK-MASQ",
        "-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT",
        "-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ",
        "-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT",
        "-A KUBE-POSTROUTING -m mark ! --mark 0x004000/0x004000 -j RETURN",
        "-A KUBE-POSTROUTING -j MARK --xor-mark 0x004000",
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
        "-j MASQUERADE --random-fully",
        "-A KUBE-MARK-MASQ -j MARK --or-mark 0x004000",
        "COMMIT",
    ]
    assert filt(plan.iptables_payload)[-2:] == [
        "-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst "
        "-j REJECT",
        "COMMIT",
    ]


@pytest.mark.parametrize(
    ("node", "rule_tail"),
    [
        (ProxyNode("node1"), "dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ"),
        (ProxyNode("node1", masquerade_all=True), "dst,dst -j KUBE-MARK-MASQ"),
        (ProxyNode("node1", cluster_cidr=None), "src,dst -j KUBE-MARK-MASQ"),
    ],
)
def test_cluster_ip_masquerade_rule(node: ProxyNode, rule_tail: str) -> None:
    rules = nat(render_ipvs(state(WEB), node).iptables_payload)
    marked = [r for r in rules if "--match-set KUBE-CLUSTER-IP" in r and "MARK-MASQ" in r]
    assert len(marked) == 1 and marked[0].endswith(f"--match-set KUBE-CLUSTER-IP {rule_tail}")


def test_empty_sets_leave_their_rules_out() -> None:
    plan = render_ipvs(state(), NODE, NODE_ADDRS)
    assert plan.virtual_servers == () and plan.bound_addresses == ()
    assert "--match-set KUBE-CLUSTER-IP" not in "\n".join(nat(plan.iptables_payload))
    assert "KUBE-NODE-PORT-TCP" not in plan.iptables_payload


def test_node_port_without_node_addresses_has_no_virtual_server() -> None:
    """Upstream skips NodePorts while it knows no node address."""
    plan = render_ipvs(state(WEB), NODE)
    assert [v.kind for v in plan.virtual_servers] == ["ClusterIP"]
    assert plan.ipset("KUBE-NODE-PORT-TCP").empty


def test_removed_real_servers_drain_with_weight_zero() -> None:
    before = render_ipvs(state(WEB, endpoints("web", "10.244.1.2", "10.244.1.3")), NODE)
    after = render_ipvs(state(WEB, endpoints("web", "10.244.1.2")), NODE, previous=before)
    assert after.draining == (("10.96.0.10:80/TCP", RealServer("10.244.1.3", 8080, 0)),)
    assert "10.244.1.3:8080" in ipvsadm_text(after) and "(draining)" in ipvsadm_text(after)
    gone = render_ipvs(state(), NODE, previous=before)
    assert gone.draining == ()  # the virtual server is deleted with its real servers


def test_show_labels_a_plan_that_was_not_applied() -> None:
    plan = render_ipvs(state(WEB, endpoints("web", "10.244.1.2")), NODE, NODE_ADDRS)
    text = show_ipvs(plan, node="node1")
    assert text.startswith(f"== kube-proxy IPVS mode on node1: {NOT_APPLIED} ==\n")
    assert "TCP  10.96.0.10:80 rr\n  -> 10.244.1.2:8080" in text
    assert "# ip -4 addr show kube-ipvs0" in text and "10.96.0.10/32" in text
    assert NOT_APPLIED not in show_ipvs(plan, applied=True)
