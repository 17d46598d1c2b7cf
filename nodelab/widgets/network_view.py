"""`NetworkView`: a node's network as the kernel holds it, drawn by graphviz, live.

The view reads a `NetworkSnapshot` (see `nodelab.host.netlink_snapshot`) from its source,
draws it with `network_svg` and highlights the difference from a *baseline* snapshot: by
default the first one it read, or the one taken by `mark()`. The lesson pattern is: show the
view, `mark()`, run a CNI ADD, and the veth pair, the pod namespace, its address and routes
appear highlighted; the list of changes is printed under the drawing (removed things too).

`NetworkView.for_node(lab, "node1")` views one node of a lab (its namespace, its pods, and the
lab's links in the root namespace) and stops when the lab goes down. `NetworkView.between(
before, after)` is the static drawing of two snapshots taken by hand (e.g. around a CNI call).
"""

from __future__ import annotations

from typing import Any

from nodelab.host.netlink_snapshot import NetworkDiff, NetworkSnapshot, diff_snapshots
from nodelab.widgets import markup
from nodelab.widgets.live import Alive, LiveView, html_display, until_lab_down
from nodelab.widgets.network_graph import network_svg
from nodelab.widgets.network_source import NetworkSource, node_network


class NetworkView(LiveView[NetworkSnapshot]):
    title = "network"

    def __init__(
        self,
        source: NetworkSource,
        *,
        interval: float = 1.0,
        alive: Alive | None = None,
        title: str | None = None,
        baseline: NetworkSnapshot | None = None,
        show_loopback: bool = True,
    ) -> None:
        super().__init__(source, interval=interval, alive=alive, title=title)
        self.baseline = baseline
        self.show_loopback = show_loopback

    @classmethod
    def for_node(cls, lab: Any, node: str = "node1", **kwargs: Any) -> NetworkView:
        """The view of node `node` of `lab` (a `nodelab.lab.Lab`)."""
        plan = lab.topology.node(node)
        prefix = f"nl{lab.name}-"
        kwargs.setdefault("alive", until_lab_down(lab))
        kwargs.setdefault("title", f"network of {lab.name}/{node}")
        return cls(node_network(plan.netns, prefix), **kwargs)

    @staticmethod
    def between(before: NetworkSnapshot, after: NetworkSnapshot, title: str = "") -> Any:
        """The static drawing of `after` with what changed since `before` highlighted."""
        return html_display(render_network(after, diff_snapshots(before, after), title=title))

    def mark(self) -> NetworkSnapshot:
        """Take the current state as the baseline: later changes are highlighted."""
        self.baseline = self.refresh()
        self.refresh_drawing()
        return self.baseline

    def refresh_drawing(self) -> None:
        if self.snapshot is not None and self._widget is not None:
            self.apply(self.snapshot, self.snapshot)

    @property
    def diff(self) -> NetworkDiff | None:
        if self.baseline is None or self.snapshot is None:
            return None
        return diff_snapshots(self.baseline, self.snapshot)

    def refresh(self) -> NetworkSnapshot:
        snapshot = super().refresh()
        if self.baseline is None:
            self.baseline = snapshot
        return snapshot

    def render_html(self, snapshot: NetworkSnapshot) -> str:
        diff = diff_snapshots(self.baseline, snapshot) if self.baseline is not None else None
        return render_network(snapshot, diff, show_loopback=self.show_loopback)

    def render_text(self, snapshot: NetworkSnapshot) -> str:
        lines = [f"{self.title}:"]
        for ns in snapshot.namespaces:
            lines.append(f"  netns {ns.name or 'root'} (inode {ns.inode})")
            for link in ns.links:
                peer = f" <-> {link.peer}" if link.peer else ""
                master = f" master {link.master}" if link.master else ""
                addrs = " ".join(link.addresses)
                lines.append(f"    {link.name} {link.kind} {link.state}{master}{peer} {addrs}")
        return "\n".join(lines)


def render_network(
    snapshot: NetworkSnapshot,
    diff: NetworkDiff | None = None,
    *,
    show_loopback: bool = True,
    title: str = "",
) -> str:
    """The static form: the SVG drawing and the list of changes (pure but for `dot`)."""
    svg = network_svg(snapshot, diff, show_loopback=show_loopback, title=title)
    parts = [f'<div style="overflow-x:auto">{svg}</div>']
    if diff is not None and not diff.empty:
        parts.append(markup.heading("changed since the baseline"))
        parts.append(markup.pre("\n".join(diff.lines())))
    return markup.block(*parts)

