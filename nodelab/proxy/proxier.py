"""The proxier: turns a `ProxyState` into rules in one node's kernel, sync after sync.

A sync is: render the plan for the current state (pure), apply it (one atomic restore or nft
transaction), clear stale UDP conntrack entries, record metrics. The proxier remembers the last
applied plan, so the next sync can be *partial* (only changed Services' chains are written).
A sync is *full* when there is nothing to diff against: the first sync, any sync after a
failure (the kernel may not hold what the last plan says), a mode switch, and every
`full_sync_period` seconds (upstream: one hour). A full sync reads the kernel's current chains
so it can remove leftovers of an earlier proxy process.

The mode (`iptables` or `nftables`) is a per-node setting. `start()` removes the rules of the
other mode, and `switch_mode()` removes the current mode's rules before the next (full) sync,
so a node never has both.
"""

from __future__ import annotations

import time
from pathlib import Path

from nodelab.errors import NodelabError
from nodelab.proxy.conntrack import clear_conntrack, plan_conntrack_cleanup
from nodelab.proxy.iptables_apply import apply_iptables, existing_chains, remove_iptables_rules
from nodelab.proxy.iptables_plan import IptablesPlan, render_iptables
from nodelab.proxy.metrics import ProxyMetrics, SyncRecord
from nodelab.proxy.model import ProxyNode, ProxyState
from nodelab.proxy.nftables_apply import apply_nftables, existing_objects, remove_nftables_rules
from nodelab.proxy.nftables_plan import NftPlan, render_nftables
from nodelab.proxy.node_namespace import NodeNamespace

MODES = ("iptables", "nftables")
FULL_SYNC_PERIOD = 3600.0


def render_plan(
    mode: str,
    state: ProxyState,
    node: ProxyNode,
    previous: IptablesPlan | NftPlan | None = None,
) -> IptablesPlan | NftPlan:
    """The plan of either mode (pure; what a notebook shows when it cannot apply rules)."""
    if mode == "iptables":
        ipt_previous = previous if isinstance(previous, IptablesPlan) else None
        return render_iptables(state, node, ipt_previous)
    if mode == "nftables":
        nft_previous = previous if isinstance(previous, NftPlan) else None
        return render_nftables(state, node, nft_previous)
    raise NodelabError(f"unknown kube-proxy mode {mode!r}: use one of {', '.join(MODES)}")


def remove_mode_rules(mode: str, ns: NodeNamespace) -> None:
    """Remove every rule of `mode` from `ns` (idempotent)."""
    if mode == "iptables":
        remove_iptables_rules(ns)
    elif mode == "nftables":
        remove_nftables_rules(ns)
    else:
        raise NodelabError(f"unknown kube-proxy mode {mode!r}: use one of {', '.join(MODES)}")


class Proxier:
    """Keeps one node's Service rules in line with the `ProxyState` it is given."""

    def __init__(
        self,
        node: ProxyNode,
        mode: str = "iptables",
        netns: str | None = None,
        *,
        full_sync_period: float = FULL_SYNC_PERIOD,
        metrics_path: Path | None = None,
        clear_udp_conntrack: bool = True,
    ) -> None:
        if mode not in MODES:
            raise NodelabError(f"unknown kube-proxy mode {mode!r}: use one of {', '.join(MODES)}")
        self.node = node
        self.mode = mode
        self.ns = NodeNamespace(netns)
        self.full_sync_period = full_sync_period
        self.metrics_path = metrics_path
        self.clear_udp_conntrack = clear_udp_conntrack
        self.metrics = ProxyMetrics(mode=mode)
        self.plan: IptablesPlan | NftPlan | None = None
        self.state: ProxyState | None = None
        self.need_full_sync = True
        self.last_full_sync = 0.0

    def start(self) -> None:
        """Remove the other mode's rules (a node runs one mode at a time)."""
        for other in MODES:
            if other != self.mode:
                remove_mode_rules(other, self.ns)

    def switch_mode(self, mode: str) -> None:
        """Remove this mode's rules and use `mode` from the next (full) sync on."""
        if mode not in MODES:
            raise NodelabError(f"unknown kube-proxy mode {mode!r}: use one of {', '.join(MODES)}")
        if mode == self.mode:
            return
        remove_mode_rules(self.mode, self.ns)
        self.mode = mode
        self.metrics.mode = mode
        self.plan = None
        self.need_full_sync = True

    def remove_rules(self) -> None:
        """Remove both modes' rules (what `nodelab down` and a clean stop do)."""
        for mode in MODES:
            remove_mode_rules(mode, self.ns)
        self.plan = None
        self.need_full_sync = True

    def _render(self, state: ProxyState, full: bool) -> IptablesPlan | NftPlan:
        if self.mode == "iptables":
            previous = self.plan if isinstance(self.plan, IptablesPlan) else None
            existing = existing_chains(self.ns, "nat") if full else frozenset()
            return render_iptables(state, self.node, previous, full=full, existing_chains=existing)
        nft_previous = self.plan if isinstance(self.plan, NftPlan) else None
        chains, sets = existing_objects(self.ns) if full else (frozenset(), frozenset())
        return render_nftables(
            state, self.node, nft_previous, full=full, existing_chains=chains, existing_sets=sets
        )

    def sync(self, state: ProxyState, *, force_full: bool = False) -> SyncRecord:
        """Bring the kernel in line with `state`; return this sync's record.

        A failed apply leaves the old rules in place (restore and nft are atomic), is recorded
        with its error and makes the next sync a full one; it raises the apply error.
        """
        start = time.monotonic()
        full = (
            force_full
            or self.need_full_sync
            or self.plan is None
            or time.time() - self.last_full_sync > self.full_sync_period
        )
        plan = self._render(state, full)
        rendered = time.monotonic()
        error: NodelabError | None = None
        try:
            if isinstance(plan, IptablesPlan):
                apply_iptables(plan, self.ns)
            else:
                apply_nftables(plan, self.ns)
        except NodelabError as exc:
            error = exc
        applied = time.monotonic()
        if error is None:
            if self.clear_udp_conntrack:
                clear_conntrack(plan_conntrack_cleanup(self.state, state, self.node), self.ns)
            self.plan, self.state = plan, state
            self.need_full_sync = False
            if full:
                self.last_full_sync = time.time()
        else:
            self.need_full_sync = True
        record = self._record(plan, full, error, start, rendered, applied)
        self.metrics.record(record)
        if self.metrics_path is not None:
            self.metrics.write(self.metrics_path)
        if error is not None:
            raise error
        return record

    def _record(
        self,
        plan: IptablesPlan | NftPlan,
        full: bool,
        error: NodelabError | None,
        start: float,
        rendered: float,
        applied: float,
    ) -> SyncRecord:
        if isinstance(plan, IptablesPlan):
            payload, deleted = plan.payload, len(plan.deleted_chains)
        else:
            payload, deleted = plan.script, len(plan.stale_chains)
        return SyncRecord(
            mode=self.mode,
            full=full,
            ok=error is None,
            finished_at=time.time(),
            duration_seconds=time.monotonic() - start,
            render_seconds=rendered - start,
            apply_seconds=applied - rendered,
            services=len(plan.blocks),
            endpoints=sum(len(v) for v in plan.endpoints.values()),
            rules_total=plan.rules_total,
            rules_written=plan.rules_written,
            services_written=len(plan.written_services),
            chains_deleted=deleted,
            payload_bytes=len(payload.encode()),
            error=str(error) if error else "",
        )
