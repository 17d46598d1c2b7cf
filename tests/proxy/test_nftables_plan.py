"""The nftables-mode plan: table `ip kube-proxy`, verdict maps, numgen, partial transactions."""

from __future__ import annotations

import base64
import hashlib

import pytest

from nodelab.proxy import render_nftables
from tests.proxy.builders import NODE, endpoints, service, state

pytestmark = pytest.mark.unit
T = "ip kube-proxy"


def base(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:8] + "-" + text


SVC = "service-" + base("demo/web/tcp/http")


def ep(ip: str, port: int = 8080) -> str:
    return "endpoint-" + base(f"demo/web/tcp/http__{ip}/{port}")


def rules_of(script: str, chain: str) -> list[str]:
    prefix = f"add rule {T} {chain} "
    return [line[len(prefix) :] for line in script.splitlines() if line.startswith(prefix)]


def test_cluster_ip_dispatch_by_verdict_map_and_numgen() -> None:
    plan = render_nftables(
        state(
            service("web", "10.96.0.10"), endpoints("web", "10.244.1.2", "10.244.1.3", "10.244.1.4")
        ),
        NODE,
    )
    s = plan.script
    assert s.startswith(f'add table {T} {{ comment "rules for kube-proxy" ; }}\n')
    assert f"add rule {T} services ip daddr . meta l4proto . th dport vmap @service-ips" in s
    assert f"add element {T} service-ips {{ 10.96.0.10 . tcp . 80 : goto {SVC} }}" in s
    assert f"add element {T} cluster-ips {{ 10.96.0.10 }}" in s
    assert rules_of(s, SVC) == [
        "ip daddr 10.96.0.10 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade",
        f"numgen random mod 3 vmap {{ 0 : goto {ep('10.244.1.2')}, 1 : goto "
        f"{ep('10.244.1.3')}, 2 : goto {ep('10.244.1.4')} }}",
    ]
    assert rules_of(s, ep("10.244.1.2")) == [
        "ip saddr 10.244.1.2 jump mark-for-masquerade",
        "meta l4proto tcp dnat to 10.244.1.2:8080",
    ]
    assert plan.full and plan.rules_total == 8


def test_no_endpoints_maps_to_the_reject_chain() -> None:
    plan = render_nftables(state(service("web", "10.96.0.10", node_port=30080)), NODE)
    assert (
        f"add element {T} no-endpoint-services {{ 10.96.0.10 . tcp . 80 comment "
        f'"demo/web:http" : goto reject-chain }}'
    ) in plan.script
    assert (
        f'add element {T} no-endpoint-nodeports {{ tcp . 30080 comment "demo/web:http" '
        ": goto reject-chain }"
    ) in plan.script
    assert SVC not in plan.script


def test_unready_endpoint_gets_no_chain() -> None:
    plan = render_nftables(
        state(
            service("web", "10.96.0.10"),
            endpoints("web", "10.244.1.2", "10.244.1.3", not_ready=("10.244.1.3",)),
        ),
        NODE,
    )
    assert ep("10.244.1.3") not in plan.script
    assert f"numgen random mod 1 vmap {{ 0 : goto {ep('10.244.1.2')} }}" in plan.script


def test_affinity_sets_with_timeout() -> None:
    plan = render_nftables(
        state(
            service("web", "10.96.0.10", session_affinity="ClientIP", sticky_seconds=600),
            endpoints("web", "10.244.1.2"),
        ),
        NODE,
    )
    aff = "affinity-" + base("demo/web/tcp/http__10.244.1.2/8080")
    assert (
        f"add set {T} {aff} {{ type ipv4_addr ; flags dynamic,timeout ; timeout 600s ; }}"
        in plan.script
    )
    assert rules_of(plan.script, SVC)[1] == f"ip saddr @{aff} goto {ep('10.244.1.2')}"
    assert f"update @{aff} {{ ip saddr }}" in rules_of(plan.script, ep("10.244.1.2"))


def test_node_port_and_external_policy_local() -> None:
    ext, local = "external-" + base("demo/web/tcp/http"), "local-" + base("demo/web/tcp/http")
    plan = render_nftables(
        state(
            service("web", "10.96.0.10", node_port=30080, external_traffic_policy="Local"),
            endpoints("web", "10.244.1.2", "10.244.2.2", nodes={"10.244.2.2": "node2"}),
        ),
        NODE,
    )
    assert f"add element {T} service-nodeports {{ tcp . 30080 : goto {ext} }}" in plan.script
    assert rules_of(plan.script, ext) == [
        f'ip saddr 10.244.0.0/16 goto {SVC} comment "short-circuit pod traffic"',
        'fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"',
        f'fib saddr type local goto {SVC} comment "short-circuit local traffic"',
        f"goto {local}",
    ]
    assert rules_of(plan.script, local) == [
        f"numgen random mod 1 vmap {{ 0 : goto {ep('10.244.1.2')} }}"
    ]


def test_internal_policy_local_without_local_endpoints_drops() -> None:
    plan = render_nftables(
        state(
            service("web", "10.96.0.10", internal_traffic_policy="Local"),
            endpoints("web", "10.244.2.2", node="node2"),
        ),
        NODE,
    )
    assert (
        f"add element {T} no-endpoint-services {{ 10.96.0.10 . tcp . 80 comment "
        '"demo/web:http" : drop }'
    ) in plan.script


def test_partial_sync_diffs_elements_and_defers_chain_deletion() -> None:
    db = "service-" + base("demo/db/tcp/http")
    first = render_nftables(
        state(
            service("web", "10.96.0.10"),
            endpoints("web", "10.244.1.2", "10.244.1.3"),
            service("db", "10.96.0.12"),
            endpoints("db", "10.244.1.7"),
        ),
        NODE,
    )
    second = render_nftables(
        state(
            service("web", "10.96.0.10"),
            endpoints("web", "10.244.1.2"),
            service("db", "10.96.0.12"),
        ),
        NODE,
        first,
    )
    s = second.script
    assert not second.full and "add table" not in s
    assert set(second.written_services) == {("demo", "web"), ("demo", "db")}
    assert f"delete element {T} service-ips {{ 10.96.0.12 . tcp . 80 }}" in s
    assert (
        f"add element {T} no-endpoint-services {{ 10.96.0.12 . tcp . 80 comment "
        '"demo/db:http" : goto reject-chain }'
    ) in s
    assert f"add element {T} service-ips" not in s  # web's element did not change
    assert f"flush chain {T} {ep('10.244.1.3')}" in s and f"flush chain {T} {db}" in s
    assert second.stale_chains >= {ep("10.244.1.3"), db}
    third = render_nftables(
        state(
            service("web", "10.96.0.10"),
            endpoints("web", "10.244.1.2"),
            service("db", "10.96.0.12"),
        ),
        NODE,
        second,
    )
    assert f"delete chain {T} {ep('10.244.1.3')}" in third.script
    assert third.written_services == () and third.stale_chains == frozenset()


def test_full_sync_cleans_leftover_service_chains_and_affinity_sets() -> None:
    plan = render_nftables(
        state(service("web", "10.96.0.10")),
        NODE,
        existing_chains=frozenset({"service-XXXX-old/svc/tcp/p", "services"}),
        existing_sets=frozenset({"affinity-YYYY-old/svc/tcp/p__1.2.3.4/80"}),
    )
    assert f"flush chain {T} service-XXXX-old/svc/tcp/p" in plan.script
    assert f"flush chain {T} services\n" in plan.script  # the skeleton's own flush
    assert f"delete set {T} affinity-YYYY-old/svc/tcp/p__1.2.3.4/80" in plan.script
    assert plan.stale_chains == frozenset({"service-XXXX-old/svc/tcp/p"})


def test_full_resync_right_after_a_partial_one_does_not_touch_deleted_chains() -> None:
    first = render_nftables(
        state(service("web", "10.96.0.10"), endpoints("web", "10.244.1.2", "10.244.1.3")), NODE
    )
    second = render_nftables(
        state(service("web", "10.96.0.10"), endpoints("web", "10.244.1.2")), NODE, first
    )
    gone = ep("10.244.1.3")
    assert gone in second.stale_chains
    # The periodic full resync lists the kernel, where the flushed chain still exists.
    third = render_nftables(
        state(service("web", "10.96.0.10"), endpoints("web", "10.244.1.2")),
        NODE,
        second,
        full=True,
        existing_chains=first.active_chains | {"services"},
    )
    lines = third.script.splitlines()
    assert f"delete chain {T} {gone}" in lines
    assert f"flush chain {T} {gone}" not in lines
    assert gone not in third.stale_chains
