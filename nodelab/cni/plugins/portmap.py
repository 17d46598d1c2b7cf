"""The `portmap` plugin: hostPort DNAT, chained after the main plugin (see `portmap_rules.py`).

    {"type": "portmap", "capabilities": {"portMappings": true},
     "backend": "iptables" | "nftables", "snat": true, "markMasqBit": 13}

ADD needs `prevResult` (it is a chained plugin): it DNATs each mapping to the first IPv4
address of the pod's interface, enables `route_localnet` on the node-side interfaces so
127.0.0.1:hostPort works, and passes `prevResult` through unchanged. Without mappings it only
passes the result through. DEL removes the attachment's rules, needs no result and is
idempotent. CHECK verifies the attachment's rules are there.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from nodelab.cni import portmap_rules as rules
from nodelab.cni.errors import INVALID_NETWORK_CONFIG, CNIError
from nodelab.cni.result import Result
from nodelab.cni.skel import Handlers, Request, serve
from nodelab.host.commands import run


def backend(request: Request) -> str:
    name = str(request.config.get("backend") or "iptables")
    if name not in ("iptables", "nftables"):
        raise CNIError(INVALID_NETWORK_CONFIG, f"portmap: unknown backend {name!r}")
    return name


def mark_of(request: Request) -> int:
    bit = request.config.get("markMasqBit", 13)
    if not isinstance(bit, int) or not 0 <= bit <= 31:
        raise CNIError(INVALID_NETWORK_CONFIG, f"portmap: markMasqBit {bit!r} is not in 0..31")
    return 1 << bit


def target_of(request: Request, prev: Result) -> rules.Target | None:
    for ip in prev.sandbox_ips() or list(prev.ips):
        address = ip.interface_address
        if address.version == 4:
            return rules.Target(
                request.network_name,
                request.container_id,
                str(address.ip),
                str(address.network),
                mark_of(request),
                bool(request.config.get("snat", True)),
            )
    return None


def nft_handles(network: str, container_id: str) -> list[int]:
    """Handles of this attachment's rules in the hostports chain (none if no table)."""
    listed = run(["nft", "-j", "list", "chain", "ip", rules.NFT_TABLE, "hostports"], check=False)
    if listed.returncode != 0:
        return []
    comment = rules.nft_comment(network, container_id)
    return [
        item["rule"]["handle"]
        for item in json.loads(listed.stdout).get("nftables", [])
        if "rule" in item and item["rule"].get("comment") == comment
    ]


def route_localnet(prev: Result) -> None:
    for interface in prev.interfaces:
        if interface.sandbox:
            continue
        path = Path(f"/proc/sys/net/ipv4/conf/{interface.name}/route_localnet")
        with contextlib.suppress(OSError):
            path.write_text("1")


def add(request: Request) -> Result:
    prev = request.prev_result
    if prev is None:
        raise CNIError(
            INVALID_NETWORK_CONFIG,
            "portmap: must be chained after a plugin that sets up the interface (no prevResult)",
        )
    mappings = rules.parse_mappings(request.runtime_config.get("portMappings"))
    target = target_of(request, prev)
    if not mappings or target is None:
        return prev
    if backend(request) == "nftables":
        handles = nft_handles(request.network_name, request.container_id)
        run(["nft", "-f", "-"], input=rules.nft_setup(target, mappings, handles))
    else:
        saved = run(["iptables-save", "-t", "nat"]).stdout
        run(
            ["iptables-restore", "--noflush", "-w", "5"],
            input=rules.iptables_setup(saved, target, mappings),
        )
    if target.snat:
        route_localnet(prev)
    return prev


def delete(request: Request) -> None:
    backend_name = backend(request)
    if backend_name == "nftables":
        handles = nft_handles(request.network_name, request.container_id)
        if handles:
            run(["nft", "-f", "-"], input=rules.nft_teardown(handles))
        return
    saved = run(["iptables-save", "-t", "nat"]).stdout
    payload = rules.iptables_teardown(saved, request.network_name, request.container_id)
    if payload:
        run(["iptables-restore", "--noflush", "-w", "5"], input=payload)


def check(request: Request) -> None:
    mappings = rules.parse_mappings(request.runtime_config.get("portMappings"))
    if not mappings:
        return
    if backend(request) == "nftables":
        present = bool(nft_handles(request.network_name, request.container_id))
    else:
        chain = rules.dnat_chain(request.network_name, request.container_id)
        present = f":{chain} " in run(["iptables-save", "-t", "nat"]).stdout
    if not present:
        raise CNIError(
            INVALID_NETWORK_CONFIG,
            f"portmap: rules for container {request.container_id} are missing",
        )


HANDLERS = Handlers(add=add, delete=delete, check=check)

if __name__ == "__main__":
    sys.exit(serve(HANDLERS))
