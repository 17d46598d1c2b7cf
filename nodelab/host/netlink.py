"""Network namespaces, links, addresses and routes, through netlink (pyroute2).

pyroute2's synchronous API drives an asyncio loop of its own, which fails inside a running loop
(a Jupyter kernel, an async daemon); `off_event_loop` runs such calls in a worker thread then.

Each function does one idempotent thing: `ensure_*` leaves the kernel in the asked state whether
or not it already was, `delete_*` succeeds when the thing is already gone. Named network
namespaces are the `ip netns` kind (bind mounts under /var/run/netns), so `ip netns exec` and
every other tool see them.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import ipaddress
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from nodelab.errors import NodelabError

NETNS_DIR = Path("/var/run/netns")

P = ParamSpec("P")
R = TypeVar("R")
_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nodelab-netlink")


def off_event_loop(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` in a worker thread when the calling thread runs an asyncio loop."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return func(*args, **kwargs)
        return _worker.submit(func, *args, **kwargs).result()

    return wrapper


class NetlinkFailure(NodelabError):
    pass


def _fail(action: str, exc: Exception) -> NetlinkFailure:
    hint = ""
    if isinstance(exc, (NetlinkError, OSError)) and getattr(exc, "code", None) in (1, 13):
        hint = " (needs root: run as root, or see `nodelab doctor`)"
    if isinstance(exc, PermissionError):
        hint = " (needs root: run as root, or see `nodelab doctor`)"
    return NetlinkFailure(f"cannot {action}: {exc}{hint}")


@contextmanager
def ipr(namespace: str | None = None) -> Iterator[IPRoute]:
    """An IPRoute socket in the root namespace, or inside the named one."""
    try:
        sock = IPRoute(netns=namespace) if namespace else IPRoute()
    except (OSError, NetlinkError) as exc:
        raise _fail(f"open netlink in {namespace or 'the root namespace'}", exc) from None
    try:
        yield sock
    finally:
        sock.close()


@off_event_loop
def list_netns() -> list[str]:
    return sorted(netns.listnetns())


def netns_path(name: str) -> Path:
    return NETNS_DIR / name


@off_event_loop
def ensure_netns(name: str) -> None:
    if netns_path(name).exists():
        return
    try:
        netns.create(name)
    except (OSError, NetlinkError) as exc:
        raise _fail(f"create network namespace {name}", exc) from None


@off_event_loop
def delete_netns(name: str) -> None:
    if not netns_path(name).exists():
        return
    try:
        netns.remove(name)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise _fail(f"delete network namespace {name}", exc) from None


@off_event_loop
def link_names(namespace: str | None = None) -> list[str]:
    with ipr(namespace) as sock:
        return [str(link.get("ifname")) for link in sock.get_links()]


def link_index(sock: IPRoute, name: str) -> int | None:
    found = sock.link_lookup(ifname=name)
    return int(found[0]) if found else None


@off_event_loop
def ensure_bridge(name: str, namespace: str | None = None) -> None:
    """A Linux bridge named `name`, up (a bridge without ports serves as a sink)."""
    with ipr(namespace) as sock:
        if link_index(sock, name) is None:
            try:
                sock.link("add", ifname=name, kind="bridge")
            except NetlinkError as exc:
                if exc.code != errno.EEXIST:
                    raise _fail(f"create bridge {name}", exc) from None
        sock.link("set", index=link_index(sock, name), state="up")


@off_event_loop
def ensure_veth_into(
    host_name: str, namespace: str, peer_name: str, master: str | None = None
) -> None:
    """A veth pair: `host_name` in the root namespace (enslaved to `master`, up) and
    `peer_name` inside `namespace` (up)."""
    with ipr() as sock:
        if link_index(sock, host_name) is None:
            tmp_peer = f"{host_name[:11]}-p"
            try:
                sock.link("add", ifname=host_name, kind="veth", peer=tmp_peer)
                peer = link_index(sock, tmp_peer)
                sock.link("set", index=peer, net_ns_fd=namespace)
            except NetlinkError as exc:
                raise _fail(f"create veth {host_name} into {namespace}", exc) from None
            with ipr(namespace) as inner:
                index = link_index(inner, tmp_peer)
                inner.link("set", index=index, ifname=peer_name)
        index = link_index(sock, host_name)
        if master is not None:
            bridge = link_index(sock, master)
            sock.link("set", index=index, master=bridge)
        sock.link("set", index=index, state="up")
    with ipr(namespace) as inner:
        inner.link("set", index=link_index(inner, peer_name), state="up")
        inner.link("set", index=link_index(inner, "lo"), state="up")


@off_event_loop
def ensure_address(
    link: str, address: ipaddress.IPv4Interface, namespace: str | None = None
) -> None:
    with ipr(namespace) as sock:
        index = link_index(sock, link)
        if index is None:
            raise NetlinkFailure(f"cannot add {address} to {link}: no such link")
        present = {
            (a.get("address"), a.get("prefixlen")) for a in sock.get_addr(index=index, family=2)
        }
        if (str(address.ip), address.network.prefixlen) in present:
            return
        try:
            sock.addr("add", index=index, address=str(address.ip),
                      prefixlen=address.network.prefixlen)
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise _fail(f"add {address} to {link}", exc) from None


@off_event_loop
def ensure_route(
    destination: ipaddress.IPv4Network,
    *,
    device: str | None = None,
    gateway: ipaddress.IPv4Address | None = None,
    namespace: str | None = None,
) -> None:
    with ipr(namespace) as sock:
        spec: dict[str, object] = {"dst": str(destination)}
        if device is not None:
            spec["oif"] = link_index(sock, device)
        if gateway is not None:
            spec["gateway"] = str(gateway)
        try:
            sock.route("replace", **spec)
        except NetlinkError as exc:
            where = namespace or "the root namespace"
            raise _fail(f"route {destination} in {where}", exc) from None


@off_event_loop
def delete_route(destination: ipaddress.IPv4Network, namespace: str | None = None) -> None:
    with ipr(namespace) as sock:
        try:
            sock.route("del", dst=str(destination))
        except NetlinkError as exc:
            if exc.code != errno.ESRCH:
                where = namespace or "the root namespace"
                raise _fail(f"delete route {destination} in {where}", exc) from None


@off_event_loop
def delete_link(name: str, namespace: str | None = None) -> None:
    with ipr(namespace) as sock:
        index = link_index(sock, name)
        if index is None:
            return
        try:
            sock.link("del", index=index)
        except NetlinkError as exc:
            if exc.code != errno.ENODEV:
                raise _fail(f"delete link {name}", exc) from None


@off_event_loop
def host_routes() -> list[ipaddress.IPv4Network]:
    """Every IPv4 destination the root namespace routes (all tables)."""
    with ipr() as sock:
        routes = sock.get_routes(family=2)
    found = []
    for route in routes:
        dst = route.get("dst") or "0.0.0.0"
        found.append(ipaddress.IPv4Network(f"{dst}/{route.get('dst_len', 0)}", strict=False))
    return found


def in_netns_argv(namespace: str | None, argv: list[str]) -> list[str]:
    """`argv` run inside `namespace`'s network namespace only (nsenter execs: the PID stays).

    Not `ip netns exec`: that also enters a private mount namespace with a fresh /sys, where
    runc finds no cgroup mounts and the mounts a runtime makes are invisible to the host."""
    if not namespace:
        return argv
    return ["nsenter", f"--net={netns_path(namespace)}", "--", *argv]


def is_root() -> bool:
    return os.geteuid() == 0
