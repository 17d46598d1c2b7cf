"""`nodelab down [--name L | --all]`: stop a lab's processes and remove every trace of it.

`--all` also takes down what killed test runs and benchmarks left (their claims, lab/claims.py:
labs in a test session's state base, CRI runtimes started outside a lab)."""

from __future__ import annotations

import argparse
import sys

from nodelab.lab.claims import reap_abandoned
from nodelab.lab.lab import known_labs, take_down_lab
from nodelab.lab.names import DEFAULT_LAB


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("down", help="take a lab down and remove all it made")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--name", default=DEFAULT_LAB, help=f"lab name (default {DEFAULT_LAB})")
    group.add_argument("--all", action="store_true",
                       help="every lab under the state dir, and what killed test runs left")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    labs = known_labs() if args.all else [args.name]
    for name in labs:
        print(f"taking lab {name} down", file=sys.stderr)
        take_down_lab(name, progress=lambda m: print(f"  {m}", file=sys.stderr))
    if args.all:
        for claim in reap_abandoned():
            print(f"removed what a killed run left: {claim.kind} under {claim.root}",
                  file=sys.stderr)
    if args.all and not labs:
        print("no labs", file=sys.stderr)
    return 0
