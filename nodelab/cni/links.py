"""Links, addresses and routes for the bridge plugin: iproute2 batches as plans, one exec each.

The bridge plugin's netlink work is written as `ip -batch` lines computed by pure functions
(`host_side_plan`, `container_side_plan`), then applied by `run_ip_batch` in one `ip` process:
one for the node's side (veth pair, bridge port, hairpin, gateway address) and one inside the
pod's netns (addresses, routes), started from a thread that entered CNI_NETNS (`run_in`: the
CNI daemon's thread does setns(2), which saves the `nsenter` exec per command). An ADD is two
short processes (plus an `ip -details link show` the first time the daemon meets a bridge). The veth
pair is created with its pod end already inside the pod's netns and already named CNI_IFNAME,
so the name never clashes with a link of the node.

Why not pyroute2: see `plugins/__init__.py` (import cost per plugin process). The plans are
also what a learner can read: they are exactly the `ip` commands a person would type.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nodelab.cni.result import IPConfig, Route
from nodelab.host.commands import CommandError, run
from nodelab.host.thread_netns import thread_in_netns


@dataclass(frozen=True)
class VethPlan:
    bridge: str
    host_name: str
    container_name: str
    netns: str
    mtu: int
    hairpin: bool
    promisc: bool = False


def ensure_bridge_plan(bridge: str, mtu: int, mac: str) -> list[str]:
    """Create the bridge with a fixed MAC: otherwise Linux gives the bridge the lowest MAC of
    its ports, so the gateway's MAC would change as pods come and go (stale ARP in pods)."""
    return [f"link add {bridge} address {mac} mtu {mtu} type bridge", f"link set {bridge} up"]


def random_mac() -> str:
    """A random unicast, locally administered MAC."""
    octets = bytearray(os.urandom(6))
    octets[0] = (octets[0] & 0xFC) | 0x02
    return ":".join(f"{o:02x}" for o in octets)


def host_side_plan(plan: VethPlan, gateway_lines: Sequence[str] = ()) -> list[str]:
    """The node's side of an ADD: the veth pair (pod end straight into the pod's netns, named
    CNI_IFNAME), the bridge port, then the gateway addresses (`gateway_address_plan`)."""
    lines = [
        f"link set {plan.bridge} up",
        f"link add {plan.host_name} mtu {plan.mtu} type veth peer name {plan.container_name} "
        f"mtu {plan.mtu} netns {plan.netns}",
        f"link set {plan.host_name} master {plan.bridge}",
    ]
    if plan.hairpin:
        lines.append(f"link set dev {plan.host_name} type bridge_slave hairpin on")
    if plan.promisc:
        lines.append(f"link set {plan.bridge} promisc on")
    lines += [
        *gateway_lines,
        f"link set {plan.host_name} up",
        f"link show dev {plan.bridge}",
        f"link show dev {plan.host_name}",
    ]
    return lines


def route_gateway(route: Route, ips: Sequence[IPConfig]) -> str:
    """A route without `gw` goes via the gateway of the first IP of the same family."""
    if route.gw:
        return route.gw
    family = ipaddress.ip_network(route.dst, strict=False).version
    for ip in ips:
        if ip.gateway and ipaddress.ip_address(ip.gateway).version == family:
            return ip.gateway
    return ""


def container_side_plan(ifname: str, ips: Sequence[IPConfig], routes: Sequence[Route]) -> list[str]:
    lines = [f"link set {ifname} up"]
    lines += [f"addr add {ip.address} dev {ifname}" for ip in ips]
    for route in routes:
        gw = route_gateway(route, ips)
        via = f" via {gw}" if gw else ""
        lines.append(f"route add {route.dst}{via} dev {ifname}")
    lines.append(f"link show dev {ifname}")
    return lines


def gateway_address_plan(bridge: str, ips: Sequence[IPConfig]) -> list[str]:
    """Put each IP's gateway on the bridge (isGateway), with the pod subnet's prefix. On every
    ADD, as the reference plugin ensures it: `addr replace` of an address present is a no-op."""
    wanted = {f"{ip.gateway}/{ip.interface_address.network.prefixlen}" for ip in ips if ip.gateway}
    return [f"addr replace {cidr} dev {bridge}" for cidr in sorted(wanted)]


def run_in(
    argv: Sequence[str], netns: str | None, *, input: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`run(argv)` in the network namespace at path `netns` (None: this one); as `nsenter
    --net=<netns> -- argv` would, without the extra exec."""
    if not netns:
        return run(argv, input=input, timeout=30, check=check)
    try:
        with thread_in_netns(netns):
            return run(argv, input=input, timeout=30, check=check)
    except CommandError:
        raise
    except OSError as exc:
        raise CommandError(tuple(argv), -1, "", str(exc)) from exc


def run_ip_batch(lines: Sequence[str], *, netns: str | None = None) -> list[Any]:
    """Apply `lines` with one `ip -json -batch -`; return the JSON each `show` printed."""
    if not lines:
        return []
    out = run_in(["ip", "-json", "-batch", "-"], netns, input="\n".join(lines) + "\n").stdout
    decoder = json.JSONDecoder()
    shown: list[Any] = []
    position = 0
    while position < len(out):
        if out[position].isspace():
            position += 1
            continue
        value, position = decoder.raw_decode(out, position)
        shown.append(value)
    return shown


def cidrs(link: dict[str, Any]) -> set[str]:
    """The CIDRs of a link as `ip -json addr` shows it."""
    return {f"{info['local']}/{info['prefixlen']}" for info in link.get("addr_info", [])}


def link_info(
    name: str, *, netns: str | None = None, details: bool = False
) -> dict[str, Any] | None:
    """`ip -j link show dev NAME` as a dict, or None if there is no such link."""
    argv = ["ip", "-json", *(["-details"] if details else []), "link", "show", "dev", name]
    try:
        out = run_in(argv, netns).stdout
    except CommandError as exc:
        if "does not exist" in exc.stderr or "Cannot find device" in exc.stderr:
            return None
        raise
    links = json.loads(out)
    return links[0] if links else None


def addresses_of(name: str, *, netns: str | None = None) -> set[str]:
    """The CIDRs on link `name` (empty if it does not exist)."""
    result = run_in(["ip", "-json", "addr", "show", "dev", name], netns, check=False)
    if result.returncode != 0:
        return set()
    found: set[str] = set()
    for link in json.loads(result.stdout or "[]"):
        found |= cidrs(link)
    return found
