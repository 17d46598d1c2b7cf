"""The `host-local` IPAM plugin: addresses from local ranges, reserved in files on this host.

A main plugin (bridge) runs it with the same stdin and environment and gets back `ips` (with
gateways), `routes` and `dns`; the main plugin puts them on the interface it made.

- ADD: reserve one address per range set (see `ipam/allocator.py`), or the addresses asked
  for (the `ips` capability, `args.cni.ips`, or CNI_ARGS `IP=10.244.1.9`); result as upstream's.
- DEL: release every address of (CNI_CONTAINERID, CNI_IFNAME); nothing held is fine.
- CHECK: the attachment must still hold its addresses.
- GC (1.1): release every reservation whose attachment is not in `cni.dev/valid-attachments`.
- STATUS (1.1): the ranges parse and the data dir is usable; code 50 if every range is full.

`dataDir` defaults to /var/lib/cni/networks like upstream; nodelab always sets it to the lab's
state dir.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import Any

from nodelab.cni.errors import INVALID_NETWORK_CONFIG, PLUGIN_NOT_AVAILABLE, CNIError
from nodelab.cni.ipam.allocator import allocate
from nodelab.cni.ipam.ranges import IPAddress, candidates, parse_range_sets
from nodelab.cni.ipam.store import DEFAULT_DATA_DIR, Store
from nodelab.cni.result import IPConfig, Result, Route
from nodelab.cni.skel import Handlers, Request, serve


def ipam_section(request: Request) -> dict[str, Any]:
    ipam = request.config.get("ipam")
    if not isinstance(ipam, dict):
        raise CNIError(INVALID_NETWORK_CONFIG, "host-local: the config has no `ipam` object")
    return ipam


def store_for(request: Request) -> Store:
    ipam = ipam_section(request)
    return Store(Path(ipam.get("dataDir") or DEFAULT_DATA_DIR), request.network_name)


def parse_resolv_conf(text: str) -> dict[str, Any]:
    """`resolvConf` file -> the result's `dns` object."""
    dns: dict[str, Any] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 2 or fields[0].startswith(("#", ";")):
            continue
        if fields[0] == "nameserver":
            dns.setdefault("nameservers", []).append(fields[1])
        elif fields[0] == "domain":
            dns["domain"] = fields[1]
        elif fields[0] == "search":
            dns["search"] = fields[1:]
        elif fields[0] == "options":
            dns.setdefault("options", []).extend(fields[1:])
    return dns


def routes_of(ipam: dict[str, Any]) -> tuple[Route, ...]:
    routes = []
    for raw in ipam.get("routes") or []:
        if not isinstance(raw, dict) or "dst" not in raw:
            raise CNIError(INVALID_NETWORK_CONFIG, f"host-local: invalid route {raw!r}")
        routes.append(Route(str(raw["dst"]), str(raw.get("gw") or "")))
    return tuple(routes)


def requested_addresses(request: Request) -> list[IPAddress]:
    """Addresses asked for: runtimeConfig `ips` (capability), `args.cni.ips`, CNI_ARGS `IP=`."""
    raw: list[str] = []
    raw += [str(ip) for ip in request.runtime_config.get("ips") or []]
    args = request.config.get("args")
    if isinstance(args, dict) and isinstance(args.get("cni"), dict):
        raw += [str(ip) for ip in args["cni"].get("ips") or []]
    if request.args.get("IP"):
        raw += request.args["IP"].split(",")
    try:
        return [ipaddress.ip_interface(ip.strip()).ip for ip in raw if ip.strip()]
    except ValueError as exc:
        raise CNIError(INVALID_NETWORK_CONFIG, f"host-local: invalid requested IP: {exc}") from exc


def add(request: Request) -> Result:
    ipam = ipam_section(request)
    range_sets = parse_range_sets(ipam)
    routes = routes_of(ipam)
    requested = requested_addresses(request)
    with store_for(request) as store:
        allocations = allocate(store, range_sets, request.container_id, request.ifname, requested)
    dns: dict[str, Any] = {}
    if ipam.get("resolvConf"):
        try:
            dns = parse_resolv_conf(Path(ipam["resolvConf"]).read_text())
        except OSError as exc:
            raise CNIError(
                INVALID_NETWORK_CONFIG, f"host-local: cannot read resolvConf {ipam['resolvConf']}"
            ) from exc
    ips = tuple(
        IPConfig(a.cidr, str(a.range.gateway) if a.range.gateway else "") for a in allocations
    )
    return Result(request.cni_version, ips=ips, routes=routes, dns=dns)


def delete(request: Request) -> None:
    with store_for(request) as store:
        for address in store.owned_by(request.container_id, request.ifname):
            store.release(address)


def check(request: Request) -> None:
    parse_range_sets(ipam_section(request))
    with store_for(request) as store:
        if not store.owned_by(request.container_id, request.ifname):
            raise CNIError(
                INVALID_NETWORK_CONFIG,
                f"host-local: failed to find address added by container {request.container_id}",
            )


def gc(request: Request) -> None:
    valid_raw = request.config.get("cni.dev/valid-attachments") or []
    valid = {
        (str(v.get("containerID", "")), str(v.get("ifname", "")))
        for v in valid_raw
        if isinstance(v, dict)
    }
    with store_for(request) as store:
        for address, cid, ifname in list(store.reservations()):
            if (cid, ifname) not in valid:
                store.release(address)


def status(request: Request) -> None:
    range_sets = parse_range_sets(ipam_section(request))
    with store_for(request) as store:
        taken = {a for a, _, _ in store.reservations()}
        for index, range_set in enumerate(range_sets):
            if all(str(a) in taken for _, a in candidates(range_set, None)):
                raise CNIError(
                    PLUGIN_NOT_AVAILABLE, f"host-local: range set {index} has no free address"
                )


HANDLERS = Handlers(add=add, delete=delete, check=check, status=status, gc=gc)

if __name__ == "__main__":
    sys.exit(serve(HANDLERS))
