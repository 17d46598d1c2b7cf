"""`nodelab join --kubeconfig K [--name L] [--nodes N]`: nodelab nodes join an existing cluster.

The lab gets no control plane of its own: its nodes register with the cluster of `K` (kind,
or any cluster the root namespace reaches), tainted `nodelab.dev/lab=true:NoSchedule` so that
only pods that tolerate it land there. `nodelab down --name L` takes them out again. See
docs/join.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from nodelab.lab.lab import Lab

DEFAULT_JOINED_LAB = "joined"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("join", help="join nodelab nodes to an existing cluster")
    parser.add_argument("--kubeconfig", type=Path, required=True,
                        help="an admin kubeconfig of the cluster to join")
    parser.add_argument("--name", default=DEFAULT_JOINED_LAB,
                        help=f"lab name (default {DEFAULT_JOINED_LAB})")
    parser.add_argument("--nodes", type=int, default=1, help="number of nodes (default 1)")
    parser.add_argument("--allow-registry", action="append", default=[], metavar="HOST",
                        help="an outside registry the nodes may pull from (HOST or HOST:PORT; "
                             "docker.io for Docker Hub), through the lab's CONNECT proxy; "
                             "repeatable (default: only the lab registry)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    print(f"joining lab {args.name} ({args.nodes} node(s)) to the cluster of {args.kubeconfig}",
          file=sys.stderr)
    lab = Lab.join(args.kubeconfig, args.name, args.nodes,
                   allow_registries=args.allow_registry)
    print(f"lab {lab.name} joined in {time.monotonic() - started:.1f}s", file=sys.stderr)
    print(lab.status().render())
    return 0
