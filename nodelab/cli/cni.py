"""`nodelab cni add|del|check|status|gc CONFLIST NETNS`: run a conflist by hand, like cnitool.

For notebooks and debugging: attach a named network namespace (`/var/run/netns/<name>`, or any
path) to the network a conflist describes, through the same `CNIInvoker` the runtime uses.

    ip netns add demo
    nodelab cni add ./10-pods.conflist demo            # prints the CNI result
    nodelab cni check ./10-pods.conflist demo
    nodelab cni del ./10-pods.conflist demo
    nodelab cni status ./10-pods.conflist

The container id defaults to `nodelab-<netns name>`, the interface to eth0. Plugins are looked
up in $CNI_PATH if set, else nodelab's own then /usr/lib/cni and /opt/cni/bin; results are
cached under `<state dir>/cni` (override with --cache-dir). `--in-netns NODE` runs the plugins
inside another namespace (a lab node), so the bridge and rules are made there. A CNI failure
prints the spec code and message and exits with 1.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from nodelab.cni import CNIInvoker, default_plugin_path, load_conflist
from nodelab.lab.paths import state_base

COMMANDS = ("add", "del", "check", "status", "gc")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "cni", help="run CNI plugins for a network namespace by hand (like cnitool)"
    )
    parser.add_argument("command", choices=COMMANDS, help="the CNI verb")
    parser.add_argument("conflist", type=Path, help="a .conflist (or .conf) file")
    parser.add_argument(
        "netns", nargs="?", default="", help="netns name in /var/run/netns, or a path"
    )
    parser.add_argument("--ifname", default="eth0", help="interface in the netns (eth0)")
    parser.add_argument("--container-id", help="default: nodelab-<netns name>")
    parser.add_argument("--args", default="", help="CNI_ARGS, as K=V;K2=V2")
    parser.add_argument(
        "--port",
        action="append",
        default=[],
        metavar="HOST:CONTAINER[/PROTO]",
        help="a portMappings entry (repeatable)",
    )
    parser.add_argument("--capability-args", default="", help="capability args as JSON")
    parser.add_argument("--plugin-path", default="", help="plugin dirs, colon-separated")
    parser.add_argument("--cache-dir", type=Path, help="result cache (default <state>/cni)")
    parser.add_argument("--in-netns", default="", help="run the plugins inside this netns")
    parser.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="CONTAINER_ID[/IFNAME]",
        help="gc: an attachment to keep (repeatable); all others are removed",
    )
    parser.set_defaults(func=run)


def netns_path(name: str) -> str:
    return name if "/" in name else f"/var/run/netns/{name}"


def capability_args(args: argparse.Namespace) -> dict[str, Any]:
    caps: dict[str, Any] = json.loads(args.capability_args) if args.capability_args else {}
    for spec in args.port:
        ports, _, protocol = spec.partition("/")
        host, _, container = ports.partition(":")
        caps.setdefault("portMappings", []).append(
            {
                "hostPort": int(host),
                "containerPort": int(container or host),
                "protocol": protocol or "tcp",
            }
        )
    return caps


def cni_args(text: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in text.split(";") if "=" in pair)


def run(args: argparse.Namespace) -> int:
    conflist = load_conflist(args.conflist)
    path_text = args.plugin_path or os.environ.get("CNI_PATH", "")
    plugin_path = [Path(p) for p in path_text.split(":") if p] or default_plugin_path()
    invoker = CNIInvoker(
        plugin_path,
        args.cache_dir or state_base() / "cni",
        exec_netns=Path(netns_path(args.in_netns)) if args.in_netns else None,
    )
    if args.command == "status":
        invoker.status(conflist)
        print(f"network {conflist.name}: ready")
        return 0
    if args.command == "gc":
        keep = [(k.partition("/")[0], k.partition("/")[2] or "eth0") for k in args.keep]
        invoker.gc(conflist, keep)
        print(f"network {conflist.name}: removed every attachment but {len(keep)} kept")
        return 0
    if not args.netns and args.command != "del":
        raise SystemExit(f"nodelab cni {args.command}: a netns name is required")
    netns = netns_path(args.netns) if args.netns else ""
    container_id = args.container_id or f"nodelab-{Path(netns).name or 'none'}"
    common = (conflist, container_id)
    if args.command == "add":
        result = invoker.add(
            *common, netns, args.ifname, cni_args(args.args), capability_args(args)
        )
        print(json.dumps(result.to_json(), indent=2))
    elif args.command == "del":
        invoker.delete(
            *common, netns or None, args.ifname, cni_args(args.args), capability_args(args) or None
        )
    else:
        invoker.check(
            *common, netns, args.ifname, cni_args(args.args), capability_args(args) or None
        )
        print(f"{container_id}/{args.ifname} on {conflist.name}: as expected")
    return 0
