"""Where a `NetworkView` reads from: which namespaces, and which root-namespace links.

`node_network(netns)` reads a node's network namespace plus every named namespace wired into
it by a veth (its pods, found by `discover_linked`, whoever created them). Given the lab's
prefix it also reads the root namespace but keeps only the links that carry the prefix (the lab
bridge, the node veths) and their routes, so the host's own interfaces never clutter the
drawing. `fixed_namespaces` reads exactly the namespaces it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from nodelab.host.netlink_snapshot import (
    ROOT,
    NetworkSnapshot,
    discover_linked,
    read_snapshot,
)

NetworkSource = Callable[[], NetworkSnapshot]


def keep_root_links(snapshot: NetworkSnapshot, prefix: str) -> NetworkSnapshot:
    """`snapshot` with the root namespace cut down to links named `prefix...` (pure)."""
    namespaces = []
    for ns in snapshot.namespaces:
        if ns.name == ROOT:
            links = tuple(link for link in ns.links if link.name.startswith(prefix))
            names = {link.name for link in links}
            routes = tuple(r for r in ns.routes if r.device in names)
            ns = replace(ns, links=links, routes=routes)
        namespaces.append(ns)
    return NetworkSnapshot(tuple(namespaces))


def node_network(netns: str, root_prefix: str | None = None) -> NetworkSource:
    """A source reading node namespace `netns`, its pods, and the lab's root links."""

    def read() -> NetworkSnapshot:
        names: list[str] = [netns, *discover_linked(netns)]
        if root_prefix is not None:
            names.insert(0, ROOT)
        snapshot = read_snapshot(names)
        return keep_root_links(snapshot, root_prefix) if root_prefix is not None else snapshot

    return read


def fixed_namespaces(namespaces: Sequence[str]) -> NetworkSource:
    """A source reading exactly `namespaces` (`ROOT` is the root namespace)."""
    names = list(namespaces)
    return lambda: read_snapshot(names)
