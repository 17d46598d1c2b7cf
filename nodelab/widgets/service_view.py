"""`ServiceView`: the KUBE-SERVICES -> KUBE-SVC -> KUBE-SEP chain graph with live counters.

The view reads a node's nat table (`nat_rules.read_nat_rules`) and draws, left to right, the
KUBE-SERVICES entry point, one box per Service port (its ClusterIP:port or NodePort, the
KUBE-SVC chain, how many connections entered it) and one box per endpoint (the KUBE-SEP
chain, the DNAT destination, the probability it is picked with, and its connection count).
Counts are shown since a *baseline* (the first reading, or `mark()`), and every endpoint whose
counter moved since the previous reading is highlighted: that is where the last request(s)
went. `hits()` returns those counts as data, for a notebook cell that sends ten requests and
shows how they spread.

This reads what kube-proxy wrote in iptables mode; in nftables mode kube-proxy keeps no
per-rule counters by default, so the view says it found no iptables Service chains.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import graphviz

from nodelab.widgets import markup
from nodelab.widgets.live import Alive, LiveView
from nodelab.widgets.nat_rules import ServicePath, read_nat_rules, service_paths
from nodelab.widgets.network_graph import HIGHLIGHT, HIGHLIGHT_FILL

ServiceSnapshot = tuple[ServicePath, ...]


def nat_source(netns: str | None) -> Callable[[], ServiceSnapshot]:
    return lambda: service_paths(read_nat_rules(netns))


def _counts(snapshot: ServiceSnapshot | None) -> dict[tuple[str, str], int]:
    if snapshot is None:
        return {}
    return {(p.chain, e.chain): e.packets for p in snapshot for e in p.endpoints}


def render_service_graph(
    snapshot: ServiceSnapshot,
    baseline: ServiceSnapshot | None = None,
    previous: ServiceSnapshot | None = None,
) -> str:
    """The chain graph as SVG: counts since `baseline`, moves since `previous` highlighted."""
    base, last = _counts(baseline), _counts(previous)
    base_entry = {p.chain: p.packets for p in baseline or ()}
    graph = graphviz.Digraph("services", format="svg")
    graph.attr(rankdir="LR", fontname="Helvetica", fontsize="11")
    graph.attr("node", shape="box", style="rounded,filled", fillcolor="#ffffff",
               fontname="Helvetica", fontsize="10")
    graph.node("KUBE-SERVICES", "KUBE-SERVICES\n(nat PREROUTING, OUTPUT)", fillcolor="#ddf4ff")
    for path in snapshot:
        entered = path.packets - base_entry.get(path.chain, 0)
        graph.node(path.chain, f"{path.name}\n{path.address}\n{path.chain}\n"
                               f"{entered} connection(s)")
        graph.edge("KUBE-SERVICES", path.chain, label=path.address, fontsize="9")
        if not path.endpoints:
            graph.node(f"{path.chain}/none", "no endpoints\n(REJECT in filter table)",
                       fillcolor="#ffebe9")
            graph.edge(path.chain, f"{path.chain}/none")
        for endpoint in path.endpoints:
            key = (path.chain, endpoint.chain)
            hits = endpoint.packets - base.get(key, 0)
            moved = previous is not None and endpoint.packets > last.get(key, endpoint.packets)
            graph.node(f"{path.chain}/{endpoint.chain}",
                       f"{endpoint.chain}\nDNAT → {endpoint.destination}\n{hits} hit(s)",
                       fillcolor=HIGHLIGHT_FILL if moved else "#ffffff",
                       color=HIGHLIGHT if moved else "#57606a",
                       penwidth="2.5" if moved else "1")
            graph.edge(path.chain, f"{path.chain}/{endpoint.chain}",
                       label=f"p={endpoint.probability:.2f}", fontsize="9",
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
        super().__init__(source or nat_source(netns), interval=interval, alive=alive,
                         title=title or f"Service chains in {netns or 'this namespace'}")
        self.baseline: ServiceSnapshot | None = None
        self.previous: ServiceSnapshot | None = None
        self._current: ServiceSnapshot | None = None

    @classmethod
    def for_node(cls, lab: Any, node: str = "node1", **kwargs: Any) -> ServiceView:
        """The Service chains of node `node` of `lab` (a `nodelab.lab.Lab`)."""
        from nodelab.widgets.live import until_lab_down

        plan = next(n for n in lab.topology.nodes if n.name == node)
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
        base = _counts(self.baseline)
        return {
            p.name: {e.destination: e.packets - base.get((p.chain, e.chain), 0)
                     for e in p.endpoints}
            for p in self.snapshot or ()
        }

    def render_text(self, snapshot: ServiceSnapshot) -> str:
        lines = [f"{self.title}:"]
        for name, spread in self.hits().items():
            lines.append(f"  {name}: " + ", ".join(f"{d} {n}" for d, n in spread.items()))
        return "\n".join(lines)

    def render_html(self, snapshot: ServiceSnapshot) -> str:
        if not snapshot:
            return markup.block(markup.note("no iptables Service chains (is kube-proxy running "
                                            "in iptables mode on this node?)"),
                                title=self.title)
        previous = self.previous if snapshot == self._current else self._current
        svg = render_service_graph(snapshot, self.baseline, previous)
        return markup.block(f'<div style="overflow-x:auto">{svg}</div>', title=self.title)
