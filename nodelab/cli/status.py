"""`nodelab status [--name L] [--json]`: the lab's addresses, nodes and daemons."""

from __future__ import annotations

import argparse
import json

from nodelab.lab.lab import lab_status
from nodelab.lab.names import DEFAULT_LAB


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("status", help="show a lab's state")
    parser.add_argument("--name", default=DEFAULT_LAB, help=f"lab name (default {DEFAULT_LAB})")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    status = lab_status(args.name)
    if args.json:
        print(json.dumps(status.to_json(), indent=2))
    else:
        print(status.render())
    return 0 if status.exists else 3
