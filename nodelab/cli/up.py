"""`nodelab up [--name L] [--nodes N]`: bring a lab up (or check it, if it is up already)."""

from __future__ import annotations

import argparse
import sys
import time

from nodelab.lab.lab import Lab
from nodelab.lab.names import DEFAULT_LAB


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("up", help="bring a lab up (idempotent)")
    parser.add_argument("--name", default=DEFAULT_LAB, help=f"lab name (default {DEFAULT_LAB})")
    parser.add_argument("--nodes", type=int, default=1, help="number of worker nodes (default 1)")
    parser.add_argument("--proxy-mode", choices=("iptables", "nftables"), default="iptables",
                        help="kube-proxy's mode on every node (default iptables)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    print(f"bringing lab {args.name} up with {args.nodes} node(s)", file=sys.stderr)
    lab = Lab.up(args.name, args.nodes, proxy_mode=args.proxy_mode)
    print(f"lab {lab.name} is up in {time.monotonic() - started:.1f}s", file=sys.stderr)
    print(lab.status().render())
    return 0
