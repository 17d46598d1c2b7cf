"""Golden tests of the iptables-mode plan: the exact iptables-restore payload upstream writes."""

from __future__ import annotations

import base64
import hashlib

import pytest

from nodelab.proxy import EndpointSlice, ProxyNode, Service, render_iptables
from tests.proxy.builders import NODE, endpoints, service, state

pytestmark = pytest.mark.unit


def h(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16]


SVC = "KUBE-SVC-" + h("demo/web:httptcp")


def sep(ep: str, name: str = "demo/web:http", proto: str = "tcp") -> str:
    return "KUBE-SEP-" + h(name + proto + ep)


def nat_rules(payload: str) -> list[str]:
    nat = payload.split("*nat\n", 1)[1]
    return [line for line in nat.splitlines() if line.startswith("-A")]


def filter_rules(payload: str) -> list[str]:
    filt = payload.split("*nat\n", 1)[0]
    return [line for line in filt.splitlines() if line.startswith("-A")]


def test_golden_cluster_ip_with_three_endpoints_and_one_without() -> None:
    st = state(
        service("web", "10.96.0.10"),
        endpoints("web", "10.244.1.2", "10.244.1.3", "10.244.1.4"),
        service("empty", "10.96.0.11", port_name=""),
    )
    node = ProxyNode("node1", localhost_nodeports=False)
    e1, e2, e3 = "10.244.1.2:8080", "10.244.1.3:8080", "10.244.1.4:8080"
    expected = f"""*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A KUBE-SERVICES -m comment --comment "demo/empty has no endpoints" -m tcp -p tcp -d 10.96.0.11 --dport 80 -j REJECT
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x004000/0x004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:{SVC} - [0:0]
:{sep(e1)} - [0:0]
:{sep(e2)} - [0:0]
:{sep(e3)} - [0:0]
-A KUBE-POSTROUTING -m mark ! --mark 0x004000/0x004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x004000
-A KUBE-SERVICES -m comment --comment "demo/web:http cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 80 -j {SVC}
-A {SVC} -m comment --comment "demo/web:http cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A {SVC} -m comment --comment "demo/web:http -> {e1}" -m statistic --mode random --probability 0.3333333333 -j {sep(e1)}
-A {SVC} -m comment --comment "demo/web:http -> {e2}" -m statistic --mode random --probability 0.5000000000 -j {sep(e2)}
-A {SVC} -m comment --comment "demo/web:http -> {e3}" -j {sep(e3)}
-A {sep(e1)} -m comment --comment demo/web:http -s 10.244.1.2 -j KUBE-MARK-MASQ
-A {sep(e1)} -m comment --comment demo/web:http -m tcp -p tcp -j DNAT --to-destination {e1}
-A {sep(e2)} -m comment --comment demo/web:http -s 10.244.1.3 -j KUBE-MARK-MASQ
-A {sep(e2)} -m comment --comment demo/web:http -m tcp -p tcp -j DNAT --to-destination {e2}
-A {sep(e3)} -m comment --comment demo/web:http -s 10.244.1.4 -j KUBE-MARK-MASQ
-A {sep(e3)} -m comment --comment demo/web:http -m tcp -p tcp -j DNAT --to-destination {e3}
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS
COMMIT
"""  # noqa: E501
    plan = render_iptables(st, node)
    assert plan.payload == expected
    assert plan.full and plan.rules_total == plan.rules_written == 20
    assert {j.dst_chain for j in plan.jumps} >= {"KUBE-SERVICES", "KUBE-POSTROUTING"}


def test_localhost_nodeports_default_adds_the_localnet_guard() -> None:
    plan = render_iptables(state(service("web", "10.96.0.10")), NODE)
    assert ":KUBE-FIREWALL - [0:0]" in plan.payload
    assert plan.route_localnet
    assert nat_rules(plan.payload)[-1].endswith("-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS")


def test_unready_endpoints_get_no_rules() -> None:
    plan = render_iptables(
        state(
            service("web", "10.96.0.10"),
            endpoints("web", "10.244.1.2", "10.244.1.3", not_ready=("10.244.1.3",)),
        ),
        NODE,
    )
    assert sep("10.244.1.3:8080") not in plan.payload
    rules = [r for r in nat_rules(plan.payload) if r.startswith(f"-A {SVC}")]
    assert rules[-1].endswith(f"-j {sep('10.244.1.2:8080')}")
    assert "statistic" not in rules[-1]


def test_node_port_goes_through_the_ext_chain() -> None:
    plan = render_iptables(
        state(service("web", "10.96.0.10", node_port=30080), endpoints("web", "10.244.1.2")), NODE
    )
    ext = "KUBE-EXT-" + h("demo/web:httptcp")
    rules = nat_rules(plan.payload)
    assert (
        f"-A KUBE-NODEPORTS -m comment --comment demo/web:http -m tcp -p tcp --dport 30080 -j {ext}"
    ) in rules
    assert (
        f'-A {ext} -m comment --comment "masquerade traffic for demo/web:http external '
        'destinations" -j KUBE-MARK-MASQ'
    ) in rules
    assert f"-A {ext} -j {SVC}" in rules


def test_node_port_without_endpoints_is_rejected() -> None:
    plan = render_iptables(state(service("web", "10.96.0.10", node_port=30080)), NODE)
    assert (
        '-A KUBE-EXTERNAL-SERVICES -m comment --comment "demo/web:http has no endpoints" '
        "-m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j REJECT"
    ) in filter_rules(plan.payload)


def test_client_ip_affinity_uses_recent() -> None:
    plan = render_iptables(
        state(
            service("web", "10.96.0.10", session_affinity="ClientIP", sticky_seconds=600),
            endpoints("web", "10.244.1.2", "10.244.1.3"),
        ),
        NODE,
    )
    rules = nat_rules(plan.payload)
    s1 = sep("10.244.1.2:8080")
    assert (
        f'-A {SVC} -m comment --comment "demo/web:http -> 10.244.1.2:8080" -m recent '
        f"--name {s1} --rcheck --seconds 600 --reap -j {s1}"
    ) in rules
    assert (
        f"-A {s1} -m comment --comment demo/web:http -m recent --name {s1} --set "
        "-m tcp -p tcp -j DNAT --to-destination 10.244.1.2:8080"
    ) in rules


def test_internal_traffic_policy_local() -> None:
    svl = "KUBE-SVL-" + h("demo/web:httptcp")
    local = render_iptables(
        state(
            service("web", "10.96.0.10", internal_traffic_policy="Local"),
            endpoints("web", "10.244.1.2", "10.244.2.2", nodes={"10.244.2.2": "node2"}),
        ),
        NODE,
    )
    assert f"-d 10.96.0.10 --dport 80 -j {svl}" in local.payload
    assert SVC not in local.payload and sep("10.244.2.2:8080") not in local.payload
    remote = render_iptables(
        state(
            service("web", "10.96.0.10", internal_traffic_policy="Local"),
            endpoints("web", "10.244.2.2", node="node2"),
        ),
        NODE,
    )
    assert (
        '-A KUBE-SERVICES -m comment --comment "demo/web:http has no local endpoints" '
        "-m tcp -p tcp -d 10.96.0.10 --dport 80 -j DROP"
    ) in filter_rules(remote.payload)


def test_external_traffic_policy_local() -> None:
    svl, ext = "KUBE-SVL-" + h("demo/web:httptcp"), "KUBE-EXT-" + h("demo/web:httptcp")
    plan = render_iptables(
        state(
            service("web", "10.96.0.10", node_port=30080, external_traffic_policy="Local"),
            endpoints("web", "10.244.1.2", "10.244.2.2", nodes={"10.244.2.2": "node2"}),
        ),
        NODE,
    )
    ext_rules = [r for r in nat_rules(plan.payload) if r.startswith(f"-A {ext} ")]
    assert ext_rules == [
        f'-A {ext} -m comment --comment "pod traffic for demo/web:http external destinations" '
        f"-s 10.244.0.0/16 -j {SVC}",
        f'-A {ext} -m comment --comment "masquerade LOCAL traffic for demo/web:http external '
        'destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ',
        f'-A {ext} -m comment --comment "route LOCAL traffic for demo/web:http external '
        f'destinations" -m addrtype --src-type LOCAL -j {SVC}',
        f"-A {ext} -j {svl}",
    ]
    svl_rules = [r for r in nat_rules(plan.payload) if r.startswith(f"-A {svl} ")]
    assert svl_rules == [
        f'-A {svl} -m comment --comment "demo/web:http -> 10.244.1.2:8080" '
        f"-j {sep('10.244.1.2:8080')}"
    ]


def test_partial_sync_writes_only_changed_services() -> None:
    other = "KUBE-SVC-" + h("demo/db:httptcp")
    before = state(
        service("web", "10.96.0.10"),
        endpoints("web", "10.244.1.2", "10.244.1.3"),
        service("db", "10.96.0.12"),
        endpoints("db", "10.244.1.7"),
    )
    first = render_iptables(before, NODE)
    after = state(
        service("web", "10.96.0.10"),
        endpoints("web", "10.244.1.2"),
        service("db", "10.96.0.12"),
        endpoints("db", "10.244.1.7"),
    )
    second = render_iptables(after, NODE, first)
    assert not second.full and second.written_services == (("demo", "web"),)
    assert f":{SVC} - [0:0]" in second.payload
    assert f":{other} - [0:0]" not in second.payload
    # KUBE-SERVICES is always written whole, so it still jumps to the unchanged service.
    assert f"-d 10.96.0.12 --dport 80 -j {other}" in second.payload
    gone = sep("10.244.1.3:8080")
    assert second.deleted_chains == (gone,)
    assert f":{gone} - [0:0]" in second.payload and f"-X {gone}" in second.payload
    third = render_iptables(after, NODE, second)
    assert third.written_services == () and "\n-X " not in third.payload


def test_full_sync_removes_only_leftover_kube_chains() -> None:
    leftovers = frozenset(
        {"KUBE-SVC-AAAAAAAAAAAAAAAA", "KUBE-SEP-BBBBBBBBBBBBBBBB", "CNI-MASQ-1234", "KUBE-SERVICES"}
    )
    plan = render_iptables(state(service("web", "10.96.0.10")), NODE, existing_chains=leftovers)
    assert set(plan.deleted_chains) == {"KUBE-SVC-AAAAAAAAAAAAAAAA", "KUBE-SEP-BBBBBBBBBBBBBBBB"}
    assert "CNI-MASQ" not in plan.payload


def test_large_clusters_drop_per_endpoint_comments() -> None:
    objs: list[Service | EndpointSlice] = []
    for i in range(110):
        objs.append(service(f"s{i:03d}", f"10.96.1.{i + 1}"))
        objs.append(endpoints(f"s{i:03d}", *(f"10.244.{i}.{j + 2}" for j in range(10))))
    plan = render_iptables(state(*objs), NODE)  # 1,100 endpoints: upstream's large mode
    sep_rules = [r for r in nat_rules(plan.payload) if r.startswith("-A KUBE-SEP-")]
    assert len(sep_rules) == 2200 and not any("--comment" in r for r in sep_rules)
    assert "cluster IP" in plan.payload  # KUBE-SERVICES rules keep theirs


def test_full_sync_with_the_kernels_rules_inserts_only_missing_jumps_and_the_canary() -> None:
    from nodelab.proxy.iptables.chains import JUMP_RULES, KUBELET_JUMP_RULES

    in_place = JUMP_RULES[0]
    saved = frozenset({(in_place.table, in_place.saved_line())})
    plan = render_iptables(state(service("web", "10.96.0.10")), NODE, existing_jumps=saved)
    inserts = [line for line in plan.payload.splitlines() if line.startswith("-I ")]
    assert len(inserts) == len(JUMP_RULES + KUBELET_JUMP_RULES) - 1
    assert f"-I {in_place.src_chain} {in_place.rule_text()}" not in inserts
    assert (
        '-I PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'
        in inserts
    )
    assert plan.jumps == ()  # nothing left for the apply layer to ensure one by one
    tables = plan.payload.split("COMMIT\n")
    assert tables[0] == "*mangle\n:KUBE-PROXY-CANARY - [0:0]\n"
    assert all(":KUBE-PROXY-CANARY - [0:0]" in t for t in tables[:3])
    partial = render_iptables(state(service("web", "10.96.0.10")), NODE, plan)
    assert "-I " not in partial.payload and "CANARY" not in partial.payload


def test_parse_saved_reads_nat_chains_and_builtin_rules() -> None:
    from nodelab.proxy.iptables.apply import parse_saved

    saved = """# Generated by iptables-save
*filter
:INPUT ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
-A INPUT -j KUBE-FIREWALL
-A KUBE-SERVICES -j REJECT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
COMMIT
"""
    seen = parse_saved(saved)
    assert seen.nat_chains == {"PREROUTING", "KUBE-SVC-AAAAAAAAAAAAAAAA"}
    assert seen.builtin_rules == {
        ("filter", "-A INPUT -j KUBE-FIREWALL"),
        ("nat", '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'),
    }


def test_crossing_the_large_cluster_threshold_renders_every_service_again() -> None:
    objs: list[Service | EndpointSlice] = []
    for i in range(100):
        objs.append(service(f"s{i:03d}", f"10.96.1.{i + 1}"))
        objs.append(endpoints(f"s{i:03d}", *(f"10.244.{i}.{j + 2}" for j in range(10))))
    small = render_iptables(state(*objs), NODE)  # 1,000 endpoints: not large yet
    grown = render_iptables(
        state(*objs, endpoints("s000", *(f"10.245.0.{j + 2}" for j in range(11)), slice_name="x")),
        NODE,
        small,
    )
    assert len(grown.written_services) == 100
    assert not any(grown.blocks[k] is small.blocks[k] for k in small.blocks)
    assert "-A KUBE-SEP-" in grown.payload and "--comment demo/s001:http -s" not in grown.payload
