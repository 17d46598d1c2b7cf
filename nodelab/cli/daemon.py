"""`nodelab daemon stop|start|restart [NODE] DAEMON [--name L]`: one daemon, through the supervisor.

As `systemctl stop kubelet` on a real node: a stopped daemon stays stopped (the supervisor
does not restart it) until `start`, `restart` or `nodelab up`. NODE names a node's daemon
(`runtime`, `kubelet`, `podnet`, `proxy`); without it, DAEMON is one of the lab's own
(`controlplane`, `controllers`, `registry`, ...).
"""

from __future__ import annotations

import argparse
import json

from nodelab.lab.lab import lab_daemon
from nodelab.lab.names import DEFAULT_LAB
from nodelab.lab.status import describe
from nodelab.lab.supervision.units import ACTIONS


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("daemon", help="stop, start or restart one lab daemon")
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("target", nargs="+", metavar="[NODE] DAEMON",
                        help="e.g. `node1 kubelet`, or `controlplane`")
    parser.add_argument("--name", default=DEFAULT_LAB, help=f"lab name (default {DEFAULT_LAB})")
    parser.add_argument("--json", action="store_true", help="print the daemon's status as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if len(args.target) > 2:
        raise SystemExit("nodelab daemon: give [NODE] DAEMON, e.g. `node1 kubelet`")
    node, daemon = (None, args.target[0]) if len(args.target) == 1 else args.target
    status = lab_daemon(args.name, daemon, node, args.action)
    print(json.dumps(status.to_json(), indent=2) if args.json
          else f"{status.name}: {describe(status)}")
    return 0
