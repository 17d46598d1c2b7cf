"""A snapshot of what the kernel holds in some network namespaces: links, addresses, routes.

Views and tests look at the network of a node as plain, comparable data: a `NetworkSnapshot`
is a tuple of `NamespaceSnapshot`s, each with its `LinkInfo`s and `RouteInfo`s, read through
netlink (pyroute2) in one pass. Two snapshots compare with `==` and `diff_snapshots` says what
appeared, vanished or changed between them (what a CNI ADD made, what a DEL removed).

veth peers are resolved exactly, not guessed by name: a veth carries its peer's ifindex
(IFLA_LINK) and, when the peer lives in another namespace, the *netns id* of that namespace as
seen from its own (IFLA_LINK_NETNSID). For every other namespace read in the same snapshot we
ask the kernel which id it has in this one (RTM_GETNSID with a file descriptor of the other
namespace), so `peer` names the namespace and the link on the far side.

`discover_linked` finds the named namespaces (`ip netns`) wired by veth into a given one, which
is how a node's pod namespaces are found without knowing who made them. Nothing here writes to
the kernel.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyroute2.netlink.exceptions import NetlinkError

from nodelab.host import netlink
from nodelab.host.netlink import NETNS_DIR, NetlinkFailure, off_event_loop

ROOT = ""
"""The name used for the root (host) network namespace in snapshots."""

ROOT_NETNS_PATH = "/proc/self/ns/net"
"""This process's namespace, taken as the root one (PID 1's may be unreadable in a sandbox)."""


@dataclass(frozen=True, order=True)
class LinkRef:
    """A link named by namespace and interface name (`ROOT` for the root namespace)."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace or 'root'}/{self.name}"


@dataclass(frozen=True)
class LinkInfo:
    namespace: str
    index: int
    name: str
    kind: str
    """`veth`, `bridge`, `loopback`, ... (the IFLA_INFO_KIND, or `loopback` for lo)."""
    state: str
    """The operational state: UP, DOWN, UNKNOWN, LOWERLAYERDOWN."""
    mac: str
    mtu: int
    master: str | None
    addresses: tuple[str, ...]
    peer: LinkRef | None = None

    @property
    def ref(self) -> LinkRef:
        return LinkRef(self.namespace, self.name)


@dataclass(frozen=True, order=True)
class RouteInfo:
    namespace: str
    destination: str
    device: str | None
    gateway: str | None
    scope: str

    def __str__(self) -> str:
        text = self.destination
        if self.gateway:
            text += f" via {self.gateway}"
        if self.device:
            text += f" dev {self.device}"
        return text


@dataclass(frozen=True)
class NamespaceSnapshot:
    name: str
    inode: int
    links: tuple[LinkInfo, ...]
    routes: tuple[RouteInfo, ...]

    def link(self, name: str) -> LinkInfo | None:
        return next((link for link in self.links if link.name == name), None)


@dataclass(frozen=True)
class NetworkSnapshot:
    namespaces: tuple[NamespaceSnapshot, ...]

    def namespace(self, name: str) -> NamespaceSnapshot | None:
        return next((ns for ns in self.namespaces if ns.name == name), None)

    def links(self) -> list[LinkInfo]:
        return [link for ns in self.namespaces for link in ns.links]

    def routes(self) -> list[RouteInfo]:
        return [route for ns in self.namespaces for route in ns.routes]

    def link(self, ref: LinkRef) -> LinkInfo | None:
        ns = self.namespace(ref.namespace)
        return ns.link(ref.name) if ns else None


@dataclass(frozen=True)
class NetworkDiff:
    """What changed from one snapshot to the next; every field names things by reference."""

    added_namespaces: tuple[str, ...] = ()
    removed_namespaces: tuple[str, ...] = ()
    added_links: tuple[LinkRef, ...] = ()
    removed_links: tuple[LinkRef, ...] = ()
    changed_links: tuple[LinkRef, ...] = ()
    added_addresses: tuple[tuple[LinkRef, str], ...] = ()
    removed_addresses: tuple[tuple[LinkRef, str], ...] = ()
    added_routes: tuple[RouteInfo, ...] = ()
    removed_routes: tuple[RouteInfo, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def empty(self) -> bool:
        return not any((
            self.added_namespaces, self.removed_namespaces, self.added_links,
            self.removed_links, self.changed_links, self.added_addresses,
            self.removed_addresses, self.added_routes, self.removed_routes,
        ))

    def lines(self) -> list[str]:
        """The diff as lines a learner reads: `+ link node1/veth1234 (veth)`."""
        out = [f"+ netns {n or 'root'}" for n in self.added_namespaces]
        out += [f"- netns {n or 'root'}" for n in self.removed_namespaces]
        out += [f"+ link {r}" for r in self.added_links]
        out += [f"- link {r}" for r in self.removed_links]
        out += [f"~ link {r}" for r in self.changed_links]
        out += [f"+ addr {a} on {r}" for r, a in self.added_addresses]
        out += [f"- addr {a} on {r}" for r, a in self.removed_addresses]
        out += [f"+ route {r} in {r.namespace or 'root'}" for r in self.added_routes]
        out += [f"- route {r} in {r.namespace or 'root'}" for r in self.removed_routes]
        return out


def diff_snapshots(before: NetworkSnapshot, after: NetworkSnapshot) -> NetworkDiff:
    """What `after` has that `before` had not, and the reverse (pure)."""
    ns_before = {ns.name for ns in before.namespaces}
    ns_after = {ns.name for ns in after.namespaces}
    links_before = {link.ref: link for link in before.links()}
    links_after = {link.ref: link for link in after.links()}
    addr_before = {(link.ref, a) for link in before.links() for a in link.addresses}
    addr_after = {(link.ref, a) for link in after.links() for a in link.addresses}
    routes_before = set(before.routes())
    routes_after = set(after.routes())

    def essentials(link: LinkInfo) -> tuple[object, ...]:
        return (link.kind, link.state, link.master, link.peer, link.mtu, link.mac)

    changed = sorted(
        ref for ref in links_before.keys() & links_after.keys()
        if essentials(links_before[ref]) != essentials(links_after[ref])
    )
    return NetworkDiff(
        added_namespaces=tuple(sorted(ns_after - ns_before)),
        removed_namespaces=tuple(sorted(ns_before - ns_after)),
        added_links=tuple(sorted(links_after.keys() - links_before.keys())),
        removed_links=tuple(sorted(links_before.keys() - links_after.keys())),
        changed_links=tuple(changed),
        added_addresses=tuple(sorted(addr_after - addr_before)),
        removed_addresses=tuple(sorted(addr_before - addr_after)),
        added_routes=tuple(sorted(routes_after - routes_before)),
        removed_routes=tuple(sorted(routes_before - routes_after)),
    )


def namespace_inode(name: str) -> int:
    path = ROOT_NETNS_PATH if name == ROOT else str(NETNS_DIR / name)
    try:
        return os.stat(path).st_ino
    except OSError:
        return 0


_SCOPES = {0: "universe", 200: "site", 253: "link", 254: "host", 255: "nowhere"}


def _read_namespace(name: str, others: Sequence[str]) -> tuple[list[dict[str, Any]],
                                                                 list[dict[str, Any]],
                                                                 dict[int, str]]:
    """Raw links (with addresses) and routes of one namespace, and nsid -> other name."""
    with netlink.ipr(name or None) as sock:
        links = [dict(_link_fields(msg)) for msg in sock.get_links()]
        by_index = {int(link["index"]): link for link in links}
        for msg in sock.get_addr(family=2):
            link = by_index.get(int(msg["index"]))
            if link is not None:
                link["addresses"].append(f"{msg.get('address')}/{msg['prefixlen']}")
        routes = []
        for msg in sock.get_routes(family=2, table=254):
            oif = msg.get("oif")
            dst = msg.get("dst")
            routes.append({
                "destination": f"{dst}/{msg['dst_len']}" if dst else "default",
                "device": by_index[int(oif)]["name"] if oif in by_index else None,
                "gateway": msg.get("gateway"),
                "scope": _SCOPES.get(int(msg.get("scope", 0)), str(msg.get("scope"))),
            })
        nsids: dict[int, str] = {}
        for other in others:
            if other == name:
                continue
            path = ROOT_NETNS_PATH if other == ROOT else str(NETNS_DIR / other)
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                answer = sock.get_netnsid(fd=fd)
            except NetlinkError:
                answer = None
            finally:
                os.close(fd)
            if answer and answer.get("nsid") is not None and int(answer["nsid"]) >= 0:
                nsids[int(answer["nsid"])] = other
    return links, routes, nsids


def _link_fields(msg: Any) -> Iterable[tuple[str, Any]]:
    name = str(msg.get("ifname"))
    kind = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")
    if kind is None and name == "lo":
        kind = "loopback"
    yield "index", int(msg["index"])
    yield "name", name
    yield "kind", str(kind or "")
    yield "state", str(msg.get("operstate") or "UNKNOWN")
    yield "mac", str(msg.get("address") or "")
    yield "mtu", int(msg.get("mtu") or 0)
    yield "master", msg.get("master")
    yield "link", msg.get("link")
    yield "link_netnsid", msg.get("link_netnsid")
    yield "addresses", []


@off_event_loop
def read_snapshot(namespaces: Sequence[str]) -> NetworkSnapshot:
    """Read `namespaces` (names from `ip netns`, `ROOT` for the root one) from the kernel.

    A namespace that vanished while being read is left out (a pod being deleted)."""
    raw: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], dict[int, str]]] = {}
    for name in namespaces:
        try:
            raw[name] = _read_namespace(name, namespaces)
        except NetlinkFailure:
            if name == ROOT or (NETNS_DIR / name).exists():
                raise
    names_by_index = {
        (ns, int(link["index"])): str(link["name"]) for ns, (links, _r, _n) in raw.items()
        for link in links
    }
    snapshots = []
    for name, (links, routes, nsids) in raw.items():
        local = {int(link["index"]): str(link["name"]) for link in links}
        infos = []
        for link in links:
            peer = None
            if link["kind"] == "veth" and link["link"]:
                if link["link_netnsid"] is None:
                    peer_ns: str | None = name
                else:
                    peer_ns = nsids.get(int(link["link_netnsid"]))
                if peer_ns is not None:
                    peer_name = names_by_index.get((peer_ns, int(link["link"])))
                    peer = LinkRef(peer_ns, peer_name) if peer_name is not None else None
            master = local.get(int(link["master"])) if link["master"] else None
            infos.append(LinkInfo(
                namespace=name, index=int(link["index"]), name=str(link["name"]),
                kind=str(link["kind"]), state=str(link["state"]), mac=str(link["mac"]),
                mtu=int(link["mtu"]), master=master,
                addresses=tuple(sorted(link["addresses"])), peer=peer,
            ))
        snapshots.append(NamespaceSnapshot(
            name=name,
            inode=namespace_inode(name),
            links=tuple(sorted(infos, key=lambda i: i.index)),
            routes=tuple(sorted(RouteInfo(namespace=name, **r) for r in routes)),
        ))
    return NetworkSnapshot(tuple(snapshots))


@off_event_loop
def discover_linked(namespace: str, candidates: Sequence[str] | None = None) -> list[str]:
    """The named namespaces that hold the far end of a veth whose near end is in `namespace`.

    `candidates` limits the search (default: every `ip netns`)."""
    pool = list(candidates) if candidates is not None else netlink.list_netns()
    pool = [n for n in pool if n != namespace]
    with contextlib.suppress(NetlinkFailure):
        links, _routes, nsids = _read_namespace(namespace, pool)
        wanted = {int(link["link_netnsid"]) for link in links
                  if link["kind"] == "veth" and link["link_netnsid"] is not None}
        return sorted(nsids[i] for i in wanted if i in nsids)
    return []
