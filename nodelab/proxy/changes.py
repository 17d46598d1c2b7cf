"""What a sync has to do: full or partial, and which Services' rules must be rendered again.

Upstream kube-proxy tracks changes as they arrive (`ServiceChangeTracker`,
`EndpointsChangeTracker`) and hands `syncProxyRules` the set of Services whose Service object or
EndpointSlices changed since the last successful sync (`UpdatedServices`). A partial sync
(`tryPartialSync`) re-renders and writes only those Services' chains; the chains that dispatch
to every Service (KUBE-SERVICES, KUBE-NODEPORTS, the filter chains; the nftables maps) are
written from the whole state. nodelab's proxier is handed a whole `ProxyState` each time, so it
finds the same set by comparing what each Service's rules are rendered from (`ServiceInputs`:
the Service and its EndpointSlices) with what the last plan was rendered from. Unchanged
objects are the very same instances (the informer keeps them), so the comparison is mostly
identity checks.

`decide_sync` is upstream's choice between a full and a partial sync: full when there is no
last plan (the first sync, a mode switch, a cleanup), after a failed apply (upstream:
"proxier.serviceChanges and proxier.endpointChanges have already been flushed, so we've lost
the state needed to be able to do a partial sync"), when someone else flushed the rules
(upstream's iptables `Monitor` watches a canary chain and forces a full sync when it is gone),
when asked, and periodically.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from nodelab.proxy.model import EndpointSlice, ProxyState, Service

ServiceKey = tuple[str, str]


@dataclass(frozen=True)
class ServiceInputs:
    """Everything one Service's rules are rendered from: the Service and its EndpointSlices."""

    service: Service
    slices: tuple[EndpointSlice, ...] = ()


def group_inputs(state: ProxyState) -> dict[ServiceKey, ServiceInputs]:
    """Each Service with the EndpointSlices that name it (sorted by slice name)."""
    by_service: dict[ServiceKey, list[EndpointSlice]] = {}
    for eps in state.slices.values():
        by_service.setdefault((eps.namespace, eps.service_name), []).append(eps)
    inputs: dict[ServiceKey, ServiceInputs] = {}
    for key, svc in state.services.items():
        slices = by_service.get(key, ())
        if len(slices) > 1:
            slices = sorted(slices, key=lambda s: s.name)
        inputs[key] = ServiceInputs(svc, tuple(slices))
    return inputs


def changed_services(
    old: Mapping[ServiceKey, ServiceInputs], new: Mapping[ServiceKey, ServiceInputs]
) -> frozenset[ServiceKey]:
    """The Services whose rules may differ between `old` and `new`: added, removed, or with
    a changed Service object or set of EndpointSlices (upstream's `UpdatedServices`)."""
    changed = {key for key in old if key not in new}
    for key, inputs in new.items():
        before = old.get(key)
        if before is None or not (before is inputs or before == inputs):
            changed.add(key)
    return frozenset(changed)


class OwnsChains(Protocol):
    """A Service's block of either mode: it owns these chains."""

    @property
    def chains(self) -> tuple[str, ...]: ...


def chains_in_use(
    previous: frozenset[str] | None,
    old: Mapping[ServiceKey, OwnsChains],
    new: Mapping[ServiceKey, OwnsChains],
    changed: frozenset[ServiceKey],
) -> frozenset[str]:
    """The chains the `new` blocks own, from the `previous` set (owned by the `old` blocks)
    updated through the `changed` Services only (a set of every chain when there is none)."""
    if previous is None:
        return frozenset(c for b in new.values() for c in b.chains)
    gone = {c for k in changed if k in old for c in old[k].chains}
    came = {c for k in changed if k in new for c in new[k].chains}
    return (previous - gone) | came


@dataclass(frozen=True)
class SyncDecision:
    """Full or partial, and why (the reason is logged and kept in the sync's record)."""

    full: bool
    reason: str


def decide_sync(
    *,
    has_last_plan: bool,
    last_apply_failed: bool,
    forced: bool,
    rules_flushed: bool,
    since_full_sync: float,
    full_sync_period: float,
) -> SyncDecision:
    """Upstream's `tryPartialSync := !proxier.needFullSync`, with the causes spelled out."""
    if not has_last_plan:
        return SyncDecision(True, "no rules written by this proxy yet")
    if last_apply_failed:
        return SyncDecision(True, "the last apply failed")
    if rules_flushed:
        return SyncDecision(True, "the rules were flushed by someone else")
    if forced:
        return SyncDecision(True, "a full sync was asked for")
    if since_full_sync > full_sync_period:
        return SyncDecision(True, "periodic full sync")
    return SyncDecision(False, "partial: only changed Services")
