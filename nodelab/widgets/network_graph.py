"""The graphviz drawing of a `NetworkSnapshot`, with what a `NetworkDiff` added highlighted.

Pure: `network_dot` turns a snapshot (and optionally the diff from a baseline) into DOT source;
`network_svg` runs graphviz's `dot` on it. One cluster per network namespace (labelled with its
name and inode number, the identity `ls -l /proc/<pid>/ns/net` shows), one box per link with
its kind, state and addresses, an edge from each bridge port to its bridge, a thick edge
between the two ends of each veth pair (the cable crossing namespaces) and a routes table per
namespace. Things the diff calls added are drawn in the highlight colour and bold and marked
with `+`; removed things are listed under the graph, since they are no longer there to draw.
"""

from __future__ import annotations

import html

import graphviz

from nodelab.host.netlink_snapshot import (
    ROOT,
    LinkInfo,
    LinkRef,
    NetworkDiff,
    NetworkSnapshot,
    RouteInfo,
)

HIGHLIGHT = "#bf8700"
HIGHLIGHT_FILL = "#fff8c5"
_KIND_FILL = {"bridge": "#ddf4ff", "veth": "#ffffff", "loopback": "#f6f8fa"}


def _node_id(ref: LinkRef) -> str:
    return f"{ref.namespace or 'root'}/{ref.name}"


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _link_label(link: LinkInfo, diff: NetworkDiff | None) -> str:
    added_addrs = {a for r, a in diff.added_addresses if r == link.ref} if diff else set()
    state_color = "#1a7f37" if link.state in ("UP", "UNKNOWN") else "#cf222e"
    rows = [f"<B>{_esc(link.name)}</B>",
            f'<FONT POINT-SIZE="9">{_esc(link.kind or "link")} · '
            f'<FONT COLOR="{state_color}">{_esc(link.state)}</FONT></FONT>']
    for address in link.addresses:
        if address in added_addrs:
            rows.append(f'<FONT COLOR="{HIGHLIGHT}"><B>+ {_esc(address)}</B></FONT>')
        else:
            rows.append(f'<FONT POINT-SIZE="10">{_esc(address)}</FONT>')
    if link.kind in ("veth", "bridge") and link.mac:
        rows.append(f'<FONT POINT-SIZE="8" COLOR="#57606a">{_esc(link.mac)}</FONT>')
    return "<" + "<BR/>".join(rows) + ">"


def _routes_label(routes: tuple[RouteInfo, ...], added: set[RouteInfo]) -> str:
    rows = ['<TR><TD ALIGN="LEFT"><B>routes</B></TD></TR>']
    for route in routes:
        text = _esc(str(route))
        if route in added:
            text = f'<FONT COLOR="{HIGHLIGHT}"><B>+ {text}</B></FONT>'
        rows.append(f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="9">{text}</FONT></TD></TR>')
    return '<<TABLE BORDER="0" CELLSPACING="0">' + "".join(rows) + "</TABLE>>"


def network_dot(
    snapshot: NetworkSnapshot,
    diff: NetworkDiff | None = None,
    *,
    show_loopback: bool = True,
    title: str = "",
) -> graphviz.Graph:
    """The graph of `snapshot`; what `diff` added is highlighted."""
    added_links = set(diff.added_links) if diff else set()
    changed_links = set(diff.changed_links) if diff else set()
    added_ns = set(diff.added_namespaces) if diff else set()
    added_routes = set(diff.added_routes) if diff else set()
    graph = graphviz.Graph("network", format="svg")
    graph.attr(rankdir="LR", fontname="Helvetica", fontsize="11", compound="true",
               label=title, labelloc="t")
    graph.attr("node", shape="box", style="rounded,filled", fontname="Helvetica",
               fontsize="11")
    drawn: set[LinkRef] = set()
    for ns in snapshot.namespaces:
        new_ns = ns.name in added_ns
        with graph.subgraph(name=f"cluster_{ns.name or 'root'}") as sub:
            label = f"netns {ns.name}" if ns.name != ROOT else "root namespace"
            sub.attr(label=f"{'+ ' if new_ns else ''}{label}\\ninode {ns.inode}",
                     style="rounded,bold" if new_ns else "rounded",
                     color=HIGHLIGHT if new_ns else "#8c959f",
                     fontcolor=HIGHLIGHT if new_ns else "#24292f")
            for link in ns.links:
                if link.kind == "loopback" and not show_loopback:
                    continue
                new = link.ref in added_links
                touched = new or link.ref in changed_links or bool(
                    diff and any(r == link.ref for r, _a in diff.added_addresses))
                sub.node(
                    _node_id(link.ref),
                    label=_link_label(link, diff),
                    fillcolor=HIGHLIGHT_FILL if touched else _KIND_FILL.get(link.kind, "#ffffff"),
                    color=HIGHLIGHT if touched else "#57606a",
                    penwidth="2.5" if new else "1",
                )
                drawn.add(link.ref)
            if ns.routes:
                sub.node(f"{ns.name or 'root'}/routes",
                         label=_routes_label(ns.routes, added_routes),
                         shape="note", style="filled", fillcolor="#f6f8fa")
    for link in snapshot.links():
        if link.ref not in drawn:
            continue
        if link.master is not None:
            bridge = LinkRef(link.namespace, link.master)
            if bridge in drawn:
                new = link.ref in added_links
                graph.edge(_node_id(link.ref), _node_id(bridge), label="port",
                           fontsize="8", color=HIGHLIGHT if new else "#57606a",
                           penwidth="2" if new else "1")
        if link.peer is not None and link.peer in drawn and link.ref < link.peer:
            new = link.ref in added_links or link.peer in added_links
            graph.edge(_node_id(link.ref), _node_id(link.peer), label="veth",
                       fontsize="8", color=HIGHLIGHT if new else "#0969da",
                       penwidth="3" if new else "2")
    return graph


def network_svg(
    snapshot: NetworkSnapshot,
    diff: NetworkDiff | None = None,
    *,
    show_loopback: bool = True,
    title: str = "",
) -> str:
    """The drawing as an SVG document (runs graphviz's `dot`)."""
    graph = network_dot(snapshot, diff, show_loopback=show_loopback, title=title)
    svg = str(graph.pipe(format="svg", encoding="utf-8"))
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    return svg.replace("&#45;", "-")  # graphviz escapes hyphens; keep names searchable
