"""`nodelab kubeconfig [--name L]`: print the path of the lab's admin kubeconfig.

Use it as `kubectl --kubeconfig "$(nodelab kubeconfig)" get nodes` or
`export KUBECONFIG=$(nodelab kubeconfig)`.
"""

from __future__ import annotations

import argparse
import sys

from nodelab.lab.lab import Lab
from nodelab.lab.names import DEFAULT_LAB


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("kubeconfig", help="print the admin kubeconfig's path")
    parser.add_argument("--name", default=DEFAULT_LAB, help=f"lab name (default {DEFAULT_LAB})")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    lab = Lab.get(args.name)
    print(lab.kubeconfig)
    if not lab.kubeconfig.exists():
        print(
            f"note: {lab.kubeconfig} does not exist yet: lab {lab.name} has no control plane "
            "running", file=sys.stderr,
        )
        return 1
    return 0
