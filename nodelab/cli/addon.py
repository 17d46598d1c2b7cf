"""`nodelab addon enable node-problem-detector [--name L]`: turn on an add-on a lab does not
run by default (cluster DNS and metrics-server always run; docs/addons.md)."""

from __future__ import annotations

import argparse

from nodelab.cli.progress import stderr_progress
from nodelab.lab.lab import Lab
from nodelab.lab.names import DEFAULT_LAB

OPTIONAL = ("node-problem-detector",)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("addon", help="turn on an optional add-on of a lab")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    enable = actions.add_parser("enable", help="deploy an add-on and wait until it runs")
    enable.add_argument("addon", choices=OPTIONAL, help="the add-on")
    enable.add_argument("--name", default=DEFAULT_LAB, help=f"lab name (default {DEFAULT_LAB})")
    enable.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    lab = Lab.get(args.name)
    lab.enable_node_problem_detector(progress=stderr_progress)
    print(f"{args.addon}: running on every node of lab {args.name}")
    return 0
