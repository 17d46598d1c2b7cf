"""`nodelab proxy-plan [--name L] [--node N] [--mode ipvs|iptables|nftables] [--scheduler S]`:
what kube-proxy in a mode would program on a node of a running lab, shown and not applied."""

from __future__ import annotations

import argparse

from nodelab.lab.lab import Lab
from nodelab.lab.names import DEFAULT_LAB
from nodelab.lab.proxy_plan import PLAN_MODES, proxy_plan_text
from nodelab.proxy.ipvs.plan import DEFAULT_SCHEDULER, SCHEDULERS


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "proxy-plan", help="show a kube-proxy mode's plan for a lab node (not applied)")
    parser.add_argument("--name", default=DEFAULT_LAB, help=f"lab name (default {DEFAULT_LAB})")
    parser.add_argument("--node", default="node1", help="the node (default node1)")
    parser.add_argument("--mode", choices=PLAN_MODES, default="ipvs",
                        help="kube-proxy mode to render (default ipvs)")
    parser.add_argument("--scheduler", choices=SCHEDULERS, default=DEFAULT_SCHEDULER,
                        help="IPVS scheduler (default rr, as upstream)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(proxy_plan_text(Lab.get(args.name), args.node, args.mode, args.scheduler), end="")
    return 0
