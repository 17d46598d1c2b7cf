"""Table tests of the change tracking: which Services a sync renders again, full or partial."""

from __future__ import annotations

from dataclasses import replace

import pytest

from nodelab.proxy import EndpointSlice, ProxyState, Service
from nodelab.proxy.changes import (
    ServiceKey,
    chains_in_use,
    changed_services,
    decide_sync,
    group_inputs,
)
from nodelab.proxy.iptables.plan import render_iptables
from nodelab.proxy.nftables.plan import render_nftables
from tests.proxy.builders import NODE, endpoints, service, state

pytestmark = pytest.mark.unit

WEB, DB = ("demo", "web"), ("demo", "db")
BEFORE = state(
    service("web", "10.96.0.10"),
    endpoints("web", "10.244.1.2", "10.244.1.3"),
    service("db", "10.96.0.12"),
    endpoints("db", "10.244.1.7"),
)


def edit(st: ProxyState, *objs: Service | EndpointSlice,
         drop: tuple[tuple[str, str], ...] = ()) -> ProxyState:
    """`st` with some objects replaced or added and some keys dropped (as the informer does:
    every other object stays the very same instance)."""
    services = {k: v for k, v in st.services.items() if k not in drop}
    slices = {k: v for k, v in st.slices.items() if k not in drop}
    for obj in objs:
        if isinstance(obj, Service):
            services[obj.key] = obj
        else:
            slices[obj.key] = obj
    return ProxyState(services, slices)


CASES: list[tuple[str, ProxyState, set[ServiceKey]]] = [
    ("nothing changed", edit(BEFORE), set()),
    ("equal objects rebuilt by a relist", state(
        service("web", "10.96.0.10"),
        endpoints("web", "10.244.1.2", "10.244.1.3"),
        service("db", "10.96.0.12"),
        endpoints("db", "10.244.1.7"),
    ), set()),
    ("one endpoint gone", edit(BEFORE, endpoints("web", "10.244.1.2")), {WEB}),
    ("an endpoint turns unready", edit(
        BEFORE, endpoints("web", "10.244.1.2", "10.244.1.3", not_ready=("10.244.1.3",))
    ), {WEB}),
    ("a second slice for a Service", edit(
        BEFORE, endpoints("db", "10.244.1.8", slice_name="db-second")
    ), {DB}),
    ("a slice deleted", edit(BEFORE, drop=(("demo", "db-abcde"),)), {DB}),
    ("the Service object changed", edit(
        BEFORE, replace(BEFORE.services[WEB], session_affinity="ClientIP")
    ), {WEB}),
    ("a Service added", edit(BEFORE, service("new", "10.96.0.20")), {("demo", "new")}),
    ("a Service deleted (its slice stays)", edit(BEFORE, drop=(WEB,)), {WEB}),
    ("a slice of a Service that does not exist", edit(
        BEFORE, endpoints("ghost", "10.244.1.9")
    ), set()),
    ("a slice moves from db to web", edit(
        BEFORE, replace(BEFORE.slices[("demo", "db-abcde")], service_name="web")
    ), {WEB, DB}),
]


@pytest.mark.parametrize(("case", "after", "expected"), CASES, ids=[c[0] for c in CASES])
def test_changed_services(case: str, after: ProxyState, expected: set[ServiceKey]) -> None:
    assert changed_services(group_inputs(BEFORE), group_inputs(after)) == expected


def test_slices_of_a_service_are_compared_in_name_order() -> None:
    one = endpoints("web", "10.244.1.2", slice_name="web-a")
    two = endpoints("web", "10.244.1.3", slice_name="web-b")
    first = group_inputs(state(service("web", "10.96.0.10"), one, two))
    second = group_inputs(state(service("web", "10.96.0.10"), two, one))
    assert changed_services(first, second) == frozenset()
    assert [s.name for s in first[WEB].slices] == ["web-a", "web-b"]


DECISIONS = [
    # has_last_plan, failed, forced, flushed, since_full, full?, reason
    (False, False, False, False, 0.0, True, "no rules written by this proxy yet"),
    (True, True, False, False, 0.0, True, "the last apply failed"),
    (True, False, False, True, 0.0, True, "the rules were flushed by someone else"),
    (True, False, True, False, 0.0, True, "a full sync was asked for"),
    (True, False, False, False, 3601.0, True, "periodic full sync"),
    (True, False, False, False, 10.0, False, "partial: only changed Services"),
    (False, True, True, True, 9999.0, True, "no rules written by this proxy yet"),
]


@pytest.mark.parametrize(
    ("has_plan", "failed", "forced", "flushed", "since", "full", "reason"), DECISIONS
)
def test_decide_sync(
    has_plan: bool, failed: bool, forced: bool, flushed: bool, since: float, full: bool,
    reason: str,
) -> None:
    decision = decide_sync(
        has_last_plan=has_plan,
        last_apply_failed=failed,
        forced=forced,
        rules_flushed=flushed,
        since_full_sync=since,
        full_sync_period=3600.0,
    )
    assert (decision.full, decision.reason) == (full, reason)


@pytest.mark.parametrize("render", [render_iptables, render_nftables])
def test_a_partial_render_keeps_the_blocks_of_unchanged_services(render) -> None:  # type: ignore[no-untyped-def]
    first = render(BEFORE, NODE)
    second = render(edit(BEFORE, endpoints("web", "10.244.1.2")), NODE, first)
    assert second.blocks[DB] is first.blocks[DB]
    assert second.blocks[WEB] is not first.blocks[WEB]
    assert second.written_services == (WEB,)
    # The same state rendered from scratch gives the same rules.
    fresh = render(edit(BEFORE, endpoints("web", "10.244.1.2")), NODE)
    assert {k: (b.chains, b.rules) for k, b in second.blocks.items()} == {
        k: (b.chains, b.rules) for k, b in fresh.blocks.items()
    }


def test_chains_in_use_follow_only_the_changed_services() -> None:
    first = render_iptables(BEFORE, NODE)
    after = edit(BEFORE, endpoints("web", "10.244.1.2"), drop=(DB,))
    second = render_iptables(after, NODE, first)
    changed = frozenset({WEB, DB})
    assert chains_in_use(first.active_nat_chains, first.blocks, second.blocks, changed) == (
        frozenset(c for b in second.blocks.values() for c in b.chains)
    )
    assert second.active_nat_chains == render_iptables(after, NODE).active_nat_chains
