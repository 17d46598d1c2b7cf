"""`ServiceView`: the KUBE-SERVICES -> KUBE-SVC -> KUBE-SEP chain graph with live counters.

The view reads a node's nat table (`nat_rules.read_nat_rules`) and draws, left to right, the
KUBE-SERVICES entry point, one box per Service port (its ClusterIP:port or NodePort, the
KUBE-SVC chain, how many connections entered it) and one box per endpoint (the KUBE-SEP
chain, the DNAT destination, the probability it is picked with, and its connection count).
Counts are shown since a *baseline* (the first reading, or `mark()`), and every endpoint whose
counter moved since the previous reading is highlighted: that is where the last request(s)
went. `hits()` returns those counts as data, for a notebook cell that sends ten requests and
shows how they spread.

In nftables mode (`nft_rules.py`) the same graph is drawn from the `service-ips` map and the
`numgen` picks; kube-proxy keeps no per-rule counters there, so hits are counted from the
conntrack table instead (`connections.py`: the reply direction names the endpoint). In both
modes the view lists the connections to a Service that appeared since the baseline, with the
endpoint each one went to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import graphviz

from nodelab.widgets import markup
from nodelab.widgets.connections import Connection, read_connections
from nodelab.widgets.live import Alive, LiveView
from nodelab.widgets.nat_rules import ServicePath, read_nat_rules, service_paths
from nodelab.widgets.network_graph import HIGHLIGHT, HIGHLIGHT_FILL
from nodelab.widgets.nft_rules import nft_service_paths, read_nft_ruleset


@dataclass(frozen=True)
class ServiceSnapshot:
    mode: str
    """`iptables`, `nftables`, or `none` (no Service rules found)"""
    paths: tuple[ServicePath, ...]
    connections: tuple[Connection, ...] = ()


def service_source(netns: str | None) -> Callable[[], ServiceSnapshot]:
    """Read the Service rules of `netns` (iptables first, then nftables) and its conntrack."""

    def read() -> ServiceSnapshot:
        paths, mode = service_paths(read_nat_rules(netns)), "iptables"
        if not paths:
            paths, mode = nft_service_paths(read_nft_ruleset(netns)), "nftables"
        addresses = {p.address for p in paths}
        connections = tuple(c for c in read_connections(netns) if c.service in addresses)
        return ServiceSnapshot(mode if paths else "none", paths, connections)

    return read


def _hits(
    snapshot: ServiceSnapshot | None, since: ServiceSnapshot | None
) -> dict[tuple[str, str], int]:
    """{(service chain, endpoint chain): connections since `since`}: from the DNAT rules'
    packet counters in iptables mode, from new conntrack entries in nftables mode (pure)."""
    if snapshot is None:
        return {}
    hits: dict[tuple[str, str], int] = {}
    before = set(since.connections) if since is not None else set()
    old = {(p.chain, e.chain): e.packets for p in (since.paths if since else ())
           for e in p.endpoints}
    for path in snapshot.paths:
        for endpoint in path.endpoints:
            key = (path.chain, endpoint.chain)
            if snapshot.mode == "iptables":
                hits[key] = endpoint.packets - old.get(key, 0)
            else:
                hits[key] = sum(1 for c in snapshot.connections if c not in before
                                and c.service == path.address
                                and c.endpoint == endpoint.destination)
    return hits


def render_service_graph(
    snapshot: ServiceSnapshot,
    baseline: ServiceSnapshot | None = None,
    previous: ServiceSnapshot | None = None,
) -> str:
    """The chain graph as SVG: counts since `baseline`, moves since `previous` highlighted."""
    since_base, since_last = _hits(snapshot, baseline), _hits(snapshot, previous)
    base_entry = {p.chain: p.packets for p in (baseline.paths if baseline else ())}
    fresh = {c.endpoint for c in snapshot.connections
             if previous is not None and c not in previous.connections}
    graph = graphviz.Digraph("services", format="svg")
    graph.attr(rankdir="LR", fontname="Helvetica", fontsize="11")
    graph.attr("node", shape="box", style="rounded,filled", fillcolor="#ffffff",
               fontname="Helvetica", fontsize="10")
    graph.node("KUBE-SERVICES", "KUBE-SERVICES\n(nat PREROUTING, OUTPUT)", fillcolor="#ddf4ff")
    for path in snapshot.paths:
        entered = path.packets - base_entry.get(path.chain, 0)
        counted = f"\n{entered} connection(s)" if snapshot.mode == "iptables" else ""
        graph.node(path.chain, f"{path.name}\n{path.address}\n{path.chain}{counted}")
        graph.edge("KUBE-SERVICES", path.chain, label=path.address, fontsize="9")
        if not path.endpoints:
            graph.node(f"{path.chain}/none", "no endpoints\n(REJECT in filter table)",
                       fillcolor="#ffebe9")
            graph.edge(path.chain, f"{path.chain}/none")
        for endpoint in path.endpoints:
            key = (path.chain, endpoint.chain)
            hits = since_base.get(key, 0)
            moved = previous is not None and (since_last.get(key, 0) > 0
                                              or endpoint.destination in fresh)
            graph.node(f"{path.chain}/{endpoint.chain}",
                       f"{endpoint.chain}\nDNAT → {endpoint.destination}\n{hits} hit(s)",
                       fillcolor=HIGHLIGHT_FILL if moved else "#ffffff",
                       color=HIGHLIGHT if moved else "#57606a",
                       penwidth="2.5" if moved else "1")
            graph.edge(path.chain, f"{path.chain}/{endpoint.chain}",
                       label=f"p={endpoint.probability:.2f}", fontsize="9",
                       fontcolor=HIGHLIGHT if moved else "#24292f",
                       color=HIGHLIGHT if moved else "#57606a",
                       penwidth="2.5" if moved else "1")
    svg = str(graph.pipe(format="svg", encoding="utf-8"))
    return svg[svg.find("<svg"):].replace("&#45;", "-")


class ServiceView(LiveView[ServiceSnapshot]):
    title = "services"

    def __init__(
        self,
        netns: str | None = None,
        *,
        source: Callable[[], ServiceSnapshot] | None = None,
        interval: float = 1.0,
        alive: Alive | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(source or service_source(netns), interval=interval, alive=alive,
                         title=title or f"Service chains in {netns or 'this namespace'}")
        self.baseline: ServiceSnapshot | None = None
        self.previous: ServiceSnapshot | None = None
        self._current: ServiceSnapshot | None = None

    @classmethod
    def for_node(cls, lab: Any, node: str = "node1", **kwargs: Any) -> ServiceView:
        """The Service chains of node `node` of `lab` (a `nodelab.lab.Lab`)."""
        from nodelab.widgets.live import until_lab_down

        plan = lab.topology.node(node)
        kwargs.setdefault("alive", until_lab_down(lab))
        kwargs.setdefault("title", f"Service chains of {lab.name}/{node}")
        return cls(plan.netns, **kwargs)

    def observe(self, snapshot: ServiceSnapshot) -> None:
        if self.baseline is None:
            self.baseline = snapshot
        if snapshot != self._current:
            self.previous, self._current = self._current, snapshot

    def mark(self) -> None:
        """Count hits from now on."""
        self.baseline = self.refresh()
        self.previous = None
        if self._widget is not None:
            self.apply(None, self.baseline)

    def hits(self) -> dict[str, dict[str, int]]:
        """{service port: {endpoint ip:port: connections since the baseline}}."""
        hits = _hits(self.snapshot, self.baseline)
        return {
            p.name: {e.destination: hits.get((p.chain, e.chain), 0) for e in p.endpoints}
            for p in (self.snapshot.paths if self.snapshot else ())
        }

    def new_connections(self) -> list[Connection]:
        """Connections to a Service that appeared since the baseline, with their endpoint."""
        before = set(self.baseline.connections) if self.baseline else set()
        return [c for c in (self.snapshot.connections if self.snapshot else ())
                if c not in before]

    def render_text(self, snapshot: ServiceSnapshot) -> str:
        lines = [f"{self.title}:"]
        for name, spread in self.hits().items():
            lines.append(f"  {name}: " + ", ".join(f"{d} {n}" for d, n in spread.items()))
        return "\n".join(lines)

    def render_html(self, snapshot: ServiceSnapshot) -> str:
        if not snapshot.paths:
            return markup.block(markup.note("no Service rules (no KUBE-SERVICES chain, no "
                                            "`ip kube-proxy` table): is kube-proxy running?"),
                                title=self.title)
        previous = self.previous if snapshot == self._current else self._current
        svg = render_service_graph(snapshot, self.baseline, previous)
        recent = [c for c in self.new_connections() if c.translated][-10:]
        rows = [[c.client, c.service, c.endpoint, c.state] for c in recent]
        return markup.block(
            markup.note(f"kube-proxy mode: {snapshot.mode}"),
            f'<div style="overflow-x:auto">{svg}</div>',
            markup.heading("connections since the baseline (conntrack)", f"{len(recent)}"),
            markup.table(["client", "service", "DNAT to endpoint", "state"], rows),
            title=self.title)
