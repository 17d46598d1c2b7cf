"""The proxier: turns a `ProxyState` into rules in one node's kernel, sync after sync.

A sync is: decide full or partial (`changes.decide_sync`), render the plan for the current
state (pure), apply it (one atomic restore or nft transaction), clear stale UDP conntrack
entries, record metrics. The proxier remembers the last applied plan, which keeps each
Service's rendered block: the next sync renders again only the Services whose Service or
EndpointSlices changed and, when partial, writes only their chains. A sync is *full* when there
is nothing to diff against (the first sync, a mode switch, a cleanup), after a failed apply
(the kernel may not hold what the last plan says), when someone else flushed the rules, when
asked, and every `full_sync_period` seconds (upstream: one hour). A full sync reads the
kernel's current chains so it can remove leftovers of an earlier proxy process.

Flushed rules are noticed as upstream's iptables `Monitor` does: a full sync leaves an empty
KUBE-PROXY-CANARY chain in mangle, nat and filter, and at most every `flush_check_period`
seconds (upstream: the sync period) a sync first checks that they are still there; in nftables
mode the check is that table `ip kube-proxy` still exists.

The mode (`iptables` or `nftables`) is a per-node setting. `start()` removes the rules of the
other mode (and sets `route_localnet` for localhost NodePorts, as upstream does at start-up),
and `switch_mode()` removes the current mode's rules before the next (full) sync, so a node
never has both.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from nodelab.errors import NodelabError
from nodelab.proxy.changes import SyncDecision, decide_sync
from nodelab.proxy.conntrack import clear_conntrack, plan_conntrack_cleanup
from nodelab.proxy.iptables.apply import (
    ROUTE_LOCALNET,
    apply_iptables,
    canary_present,
    read_iptables,
    remove_iptables_rules,
)
from nodelab.proxy.iptables.plan import IptablesPlan, render_iptables
from nodelab.proxy.metrics import ProxyMetrics, SyncRecord
from nodelab.proxy.model import ProxyNode, ProxyState
from nodelab.proxy.nftables.apply import (
    apply_nftables,
    existing_objects,
    remove_nftables_rules,
    table_present,
)
from nodelab.proxy.nftables.plan import NftPlan, render_nftables
from nodelab.proxy.node_namespace import NodeNamespace

log = logging.getLogger("nodelab.proxy")

MODES = ("iptables", "nftables")
FULL_SYNC_PERIOD = 3600.0
FLUSH_CHECK_PERIOD = 30.0


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
        flush_check_period: float = FLUSH_CHECK_PERIOD,
        metrics_path: Path | None = None,
        clear_udp_conntrack: bool = True,
    ) -> None:
        if mode not in MODES:
            raise NodelabError(f"unknown kube-proxy mode {mode!r}: use one of {', '.join(MODES)}")
        self.node = node
        self.mode = mode
        self.ns = NodeNamespace(netns)
        self.full_sync_period = full_sync_period
        self.flush_check_period = flush_check_period
        self.metrics_path = metrics_path
        self.clear_udp_conntrack = clear_udp_conntrack
        self.metrics = ProxyMetrics(mode=mode)
        self.plan: IptablesPlan | NftPlan | None = None
        self.state: ProxyState | None = None
        self.need_full_sync = True
        self.last_full_sync = 0.0
        self.last_flush_check = 0.0
        self.route_localnet_set = False

    def start(self) -> None:
        """Remove the other mode's rules (a node runs one mode at a time); in iptables mode
        with localhost NodePorts, set `route_localnet` (upstream does it once, at start-up)."""
        for other in MODES:
            if other != self.mode:
                remove_mode_rules(other, self.ns)
        if self.mode == "iptables" and self.node.localhost_nodeports:
            self._set_route_localnet()

    def _set_route_localnet(self) -> None:
        self.ns.set_sysctl(ROUTE_LOCALNET, "1")
        self.route_localnet_set = True

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

    def rules_flushed(self) -> bool:
        """Whether someone else removed this mode's rules since the last full sync."""
        if self.mode == "iptables":
            return not canary_present(self.ns)
        return not table_present(self.ns)

    def _decide(self, force_full: bool) -> SyncDecision:
        flushed = False
        now = time.monotonic()
        checkable = self.plan is not None and not self.need_full_sync and not force_full
        if checkable and now - self.last_flush_check >= self.flush_check_period:
            self.last_flush_check = now
            flushed = self.rules_flushed()
        return decide_sync(
            has_last_plan=self.plan is not None,
            last_apply_failed=self.need_full_sync,
            forced=force_full,
            rules_flushed=flushed,
            since_full_sync=time.time() - self.last_full_sync,
            full_sync_period=self.full_sync_period,
        )

    def _render(self, state: ProxyState, full: bool) -> IptablesPlan | NftPlan:
        if self.mode == "iptables":
            previous = self.plan if isinstance(self.plan, IptablesPlan) else None
            if not full:
                return render_iptables(state, self.node, previous, full=False)
            seen = read_iptables(self.ns)
            return render_iptables(
                state,
                self.node,
                previous,
                full=True,
                existing_chains=seen.nat_chains,
                existing_jumps=seen.builtin_rules,
            )
        nft_previous = self.plan if isinstance(self.plan, NftPlan) else None
        chains, sets = existing_objects(self.ns) if full else (frozenset(), frozenset())
        return render_nftables(
            state, self.node, nft_previous, full=full, existing_chains=chains, existing_sets=sets
        )

    def _apply(self, plan: IptablesPlan | NftPlan) -> None:
        if isinstance(plan, IptablesPlan):
            localnet = plan.route_localnet and not self.route_localnet_set
            apply_iptables(plan, self.ns, route_localnet=localnet)
            self.route_localnet_set = self.route_localnet_set or localnet
        else:
            apply_nftables(plan, self.ns)

    def sync(self, state: ProxyState, *, force_full: bool = False) -> SyncRecord:
        """Bring the kernel in line with `state`; return this sync's record.

        A failed apply leaves the old rules in place (restore and nft are atomic), is recorded
        with its error and makes the next sync a full one; it raises the apply error. A metrics
        file that cannot be written (a full filesystem) is logged, not raised.
        """
        start = time.monotonic()
        decision = self._decide(force_full)
        plan = self._render(state, decision.full)
        rendered = time.monotonic()
        error: NodelabError | None = None
        try:
            self._apply(plan)
        except NodelabError as exc:
            error = exc
        applied = time.monotonic()
        if error is None:
            if self.clear_udp_conntrack:
                # The changed Services, when the plan was diffed against this mode's last one.
                scope = plan.changed_services if isinstance(self.plan, type(plan)) else None
                stale = plan_conntrack_cleanup(self.state, state, self.node, scope)
                clear_conntrack(stale, self.ns)
            self.plan, self.state = plan, state
            self.need_full_sync = False
            if decision.full:
                self.last_full_sync = time.time()
                self.last_flush_check = time.monotonic()
        else:
            self.need_full_sync = True
        record = self._record(plan, decision, error, start, rendered, applied)
        self.metrics.record(record)
        if self.metrics_path is not None:
            try:
                self.metrics.write(self.metrics_path)
            except OSError as exc:  # e.g. the filesystem is full: the rules are what counts
                log.warning("sync metrics not written to %s: %s", self.metrics_path, exc)
        if error is not None:
            raise error
        return record

    def _record(
        self,
        plan: IptablesPlan | NftPlan,
        decision: SyncDecision,
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
            full=decision.full,
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
            reason=decision.reason,
        )
