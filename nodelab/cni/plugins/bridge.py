"""The `bridge` plugin: pods on a Linux bridge of the node, through veth pairs.

ADD, in the node's network namespace (where the plugin runs):
1. ensure the bridge (`bridge`, default `cni0`) exists, is a bridge, is up, has the MTU;
2. run the IPAM plugin (`ipam.type`, found on CNI_PATH) for addresses, routes and DNS;
3. create a veth pair: the host end `veth<8 hex>` becomes a bridge port (hairpin if
   `hairpinMode`), the pod end is created inside CNI_NETNS, named CNI_IFNAME (a name already
   there fails the ADD with code 4);
4. `isGateway`: put each gateway address on the bridge and enable IPv4 forwarding (in the same
   `ip -batch` as step 3); `isDefaultGateway` (implies isGateway): add a default route via it;
5. inside the pod: bring CNI_IFNAME up, add the addresses and routes;
6. `ipMasq`: masquerade the pod's traffic leaving the pod subnet (see `masquerade.py`).
The result lists the bridge, the host veth and the pod interface (the IPs point at it).
If any step fails, what was done is undone (IPAM released, veth deleted) before the error.

DEL releases the IPAM addresses, deletes CNI_IFNAME in the pod (its peer goes with it) and the
masquerade chain; every part tolerates "already gone", so DEL is idempotent and works without a
netns. CHECK compares the pod interface and its addresses with `prevResult`. STATUS and GC are
passed to the IPAM plugin.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nodelab.cni import links, masquerade
from nodelab.cni.errors import (
    DECODING_FAILURE,
    INVALID_ENVIRONMENT,
    INVALID_NETWORK_CONFIG,
    UNSUPPORTED_FIELD,
    CNIError,
)
from nodelab.cni.plugin_exec import cni_env, exec_plugin, find_plugin
from nodelab.cni.plugins import plugin_dir
from nodelab.cni.result import Interface, IPConfig, Result, Route
from nodelab.cni.skel import Handlers, Request, dispatch, serve
from nodelab.host.commands import CommandError, run


@dataclass(frozen=True)
class BridgeConfig:
    bridge: str
    mtu: int
    is_gateway: bool
    is_default_gateway: bool
    ip_masq: bool
    hairpin: bool
    promisc: bool
    ipam_type: str


def parse_config(config: dict[str, Any]) -> BridgeConfig:
    for unsupported in ("vlan", "vlanTrunk", "macspoofchk"):
        if config.get(unsupported):
            raise CNIError(
                UNSUPPORTED_FIELD,
                f"bridge: `{unsupported}` is not supported by nodelab's bridge plugin",
                "remove it, or use the reference bridge plugin from /usr/lib/cni",
            )
    bridge = str(config.get("bridge") or "cni0")
    if len(bridge) > 15 or "/" in bridge or " " in bridge:
        raise CNIError(INVALID_NETWORK_CONFIG, f"bridge: invalid bridge name {bridge!r}")
    mtu = config.get("mtu") or 1500
    if not isinstance(mtu, int) or not 68 <= mtu <= 65535:
        raise CNIError(INVALID_NETWORK_CONFIG, f"bridge: invalid mtu {mtu!r}")
    ipam = config.get("ipam")
    ipam_type = ipam.get("type") if isinstance(ipam, dict) else None
    if not isinstance(ipam_type, str) or not ipam_type:
        raise CNIError(INVALID_NETWORK_CONFIG, "bridge: the config needs `ipam` with a `type`")
    default_gw = bool(config.get("isDefaultGateway", False))
    return BridgeConfig(
        bridge=bridge,
        mtu=mtu,
        is_gateway=bool(config.get("isGateway", False)) or default_gw,
        is_default_gateway=default_gw,
        ip_masq=bool(config.get("ipMasq", False)),
        hairpin=bool(config.get("hairpinMode", False)),
        promisc=bool(config.get("promiscMode", False)),
        ipam_type=ipam_type,
    )


def delegate_ipam(request: Request, command: str, ipam_type: str) -> bytes:
    """Run the IPAM plugin with our own stdin and environment, as libcni's delegate does.

    The plugin is whatever CNI_PATH finds first. When that is nodelab's own host-local (a link
    to the same front), its handlers run here in the daemon: the same code on the same request,
    without a second process and round trip through the front.
    """
    executable = find_plugin(ipam_type, request.path)
    if ipam_type == "host-local" and executable.resolve() == (plugin_dir() / ipam_type).resolve():
        from nodelab.cni.plugins import host_local

        body = dispatch(host_local.HANDLERS, replace(request, command=command))
        return json.dumps(body).encode() if body is not None else b""
    env = cni_env(
        command,
        container_id=request.container_id,
        netns=request.netns,
        ifname=request.ifname,
        args=request.args,
        plugin_path=request.path,
    )
    return exec_plugin(executable, env, request.stdin)


# Bridges this process has made or checked: name -> ifindex. The CNI daemon lives long, so the
# `ip -details link show` that checks a bridge's kind runs once per bridge, not once per ADD;
# if_nametoindex(3) (one ioctl in this network namespace) tells that it is still that link.
_checked_bridges: dict[str, int] = {}


def ensure_bridge(cfg: BridgeConfig) -> None:
    """Make sure the bridge exists and is a bridge (the ADD's batch sets it up)."""
    try:
        index = socket.if_nametoindex(cfg.bridge)
    except OSError:
        index = 0
    if index and _checked_bridges.get(cfg.bridge) == index:
        return
    info = links.link_info(cfg.bridge, details=True)
    if info is None:
        try:
            links.run_ip_batch(links.ensure_bridge_plan(cfg.bridge, cfg.mtu, links.random_mac()))
        except CommandError:
            if links.link_info(cfg.bridge) is None:  # else made by a concurrent ADD
                raise
        info = links.link_info(cfg.bridge, details=True)
        if info is None:
            raise CNIError(INVALID_NETWORK_CONFIG, f"bridge: bridge {cfg.bridge} vanished")
    kind = info.get("linkinfo", {}).get("info_kind")
    if kind != "bridge":
        raise CNIError(
            INVALID_NETWORK_CONFIG,
            f"bridge: link {cfg.bridge} exists and is a {kind}, not a bridge",
        )
    _checked_bridges[cfg.bridge] = int(info["ifindex"])


def enable_forwarding() -> None:
    path = Path("/proc/sys/net/ipv4/ip_forward")
    if path.read_text().strip() != "1":
        path.write_text("1")


def require_netns(request: Request) -> None:
    if not os.path.exists(request.netns):
        raise CNIError(INVALID_ENVIRONMENT, f"bridge: CNI_NETNS {request.netns} does not exist")


def add(request: Request) -> Result:
    cfg = parse_config(request.config)
    require_netns(request)
    ensure_bridge(cfg)
    veth = links.VethPlan(
        cfg.bridge,
        "veth" + os.urandom(4).hex(),
        request.ifname,
        request.netns,
        cfg.mtu,
        cfg.hairpin,
        cfg.promisc,
    )
    ipam_done = True  # from here on, undo asks IPAM to release (DEL is idempotent)
    try:
        raw = delegate_ipam(request, "ADD", cfg.ipam_type)
        try:
            ipam = Result.from_json(json.loads(raw), source="IPAM result")
        except ValueError as exc:
            raise CNIError(DECODING_FAILURE, "bridge: IPAM result is not JSON", str(exc)) from exc
        if not ipam.ips:
            raise CNIError(INVALID_NETWORK_CONFIG, "bridge: IPAM plugin returned no IP addresses")
        ips = tuple(IPConfig(ip.address, ip.gateway, 2) for ip in ipam.ips)
        routes = list(ipam.routes)
        if cfg.is_default_gateway:
            for ip in ips:
                default = "0.0.0.0/0" if ip.interface_address.version == 4 else "::/0"
                if ip.gateway and all(r.dst != default for r in routes):
                    routes.append(Route(default, ip.gateway))
        gateway = (
            links.gateway_address_plan(cfg.bridge, ips) if cfg.is_gateway else []
        )
        try:
            shown_host = links.run_ip_batch(links.host_side_plan(veth, gateway))
        except CommandError as exc:
            if "File exists" in exc.stderr:
                raise CNIError(
                    INVALID_ENVIRONMENT,
                    f"bridge: container veth name provided ({request.ifname}) already exists",
                ) from exc
            raise
        bridge_link, host_link = (shown[0] for shown in shown_host)
        if cfg.is_gateway:
            enable_forwarding()
        shown = links.run_ip_batch(
            links.container_side_plan(request.ifname, ips, routes), netns=request.netns
        )
        pod_link = shown[-1][0]
        if cfg.ip_masq:
            masquerade.setup(request.network_name, request.container_id, ips)
    except BaseException:
        cleanup(request, cfg, veth.host_name, ipam_done)
        raise
    return Result(
        request.cni_version,
        interfaces=(
            Interface(cfg.bridge, bridge_link.get("address", "")),
            Interface(veth.host_name, host_link.get("address", "")),
            Interface(request.ifname, pod_link.get("address", ""), sandbox=request.netns),
        ),
        ips=ips,
        routes=tuple(routes),
        dns=ipam.dns,
    )


def cleanup(request: Request, cfg: BridgeConfig, host_veth: str, ipam_done: bool) -> None:
    """Undo a half-done ADD, ignoring what fails (the original error is what matters)."""
    run(["ip", "link", "del", host_veth], check=False)
    if ipam_done:
        with contextlib.suppress(CNIError):
            delegate_ipam(request, "DEL", cfg.ipam_type)
    if cfg.ip_masq:
        with contextlib.suppress(CommandError):
            masquerade.teardown(request.network_name, request.container_id)


def delete(request: Request) -> None:
    cfg = parse_config(request.config)
    delegate_ipam(request, "DEL", cfg.ipam_type)
    if request.netns and os.path.exists(request.netns):
        result = links.run_in(["ip", "link", "del", request.ifname], request.netns, check=False)
        if result.returncode != 0 and "Cannot find device" not in result.stderr:
            raise CommandError(
                tuple(str(a) for a in result.args), result.returncode, result.stdout, result.stderr
            )
    if cfg.ip_masq:
        masquerade.teardown(request.network_name, request.container_id)


def check(request: Request) -> None:
    cfg = parse_config(request.config)
    prev = request.prev_result
    if prev is None:
        raise CNIError(INVALID_NETWORK_CONFIG, "bridge: CHECK needs prevResult")
    require_netns(request)
    delegate_ipam(request, "CHECK", cfg.ipam_type)
    if links.link_info(cfg.bridge) is None:
        raise CNIError(INVALID_NETWORK_CONFIG, f"bridge: bridge {cfg.bridge} is missing")
    pod_link = links.link_info(request.ifname, netns=request.netns)
    if pod_link is None:
        raise CNIError(
            INVALID_NETWORK_CONFIG,
            f"bridge: interface {request.ifname} is missing in {request.netns}",
        )
    wanted = [i for i in prev.interfaces if i.sandbox and i.name == request.ifname]
    if wanted and wanted[0].mac and wanted[0].mac != pod_link.get("address"):
        raise CNIError(
            INVALID_NETWORK_CONFIG,
            f"bridge: {request.ifname} has MAC {pod_link.get('address')}, expected {wanted[0].mac}",
        )
    present = links.addresses_of(request.ifname, netns=request.netns)
    missing = [ip.address for ip in prev.sandbox_ips() if ip.address not in present]
    if missing:
        raise CNIError(
            INVALID_NETWORK_CONFIG,
            f"bridge: {request.ifname} lacks address(es) {', '.join(missing)}",
        )


def status(request: Request) -> None:
    delegate_ipam(request, "STATUS", parse_config(request.config).ipam_type)


def gc(request: Request) -> None:
    delegate_ipam(request, "GC", parse_config(request.config).ipam_type)


HANDLERS = Handlers(add=add, delete=delete, check=check, status=status, gc=gc)

if __name__ == "__main__":
    sys.exit(serve(HANDLERS))
