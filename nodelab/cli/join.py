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
from collections.abc import Sequence
from pathlib import Path

from kubernetes.client.exceptions import ApiException

from nodelab.cli.progress import stderr_progress
from nodelab.errors import NodelabError
from nodelab.lab.description import LabDescription
from nodelab.lab.lab import Lab
from nodelab.lab.paths import LabPaths

DEFAULT_JOINED_LAB = "joined"


def failed_join(name: str, exc: Exception, base: Path | None = None) -> NodelabError:
    """The error of a join that failed: what went wrong, and, when it failed partway (the
    joined lab exists), that `nodelab down` removes what it made."""
    if isinstance(exc, ApiException):
        hint = (": `nodelab join` needs an admin kubeconfig (cluster-admin, e.g. kind's own)"
                if exc.status in (401, 403) else "")
        message = f"the cluster answered {exc.status} {exc.reason}{hint}"
    else:
        message = str(exc)
    description = LabDescription.load(LabPaths.for_lab(name, base).description)
    if description is not None and description.joined and "nodelab down" not in message:
        message += (f"\nthe join of lab {name} stopped partway: `nodelab down --name {name}` "
                    "removes what it made (and its nodes from the cluster)")
    return NodelabError(message)


def join_lab(kubeconfig: Path, name: str, nodes: int,
             allow_registries: Sequence[str] = ()) -> Lab:
    """`Lab.join`, failing with errors a user can act on (not tracebacks)."""
    try:
        return Lab.join(kubeconfig, name, nodes, allow_registries=allow_registries,
                        progress=stderr_progress)
    except (NodelabError, ApiException) as exc:
        raise failed_join(name, exc) from exc


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
    lab = join_lab(args.kubeconfig, args.name, args.nodes, args.allow_registry)
    print(f"lab {lab.name} joined in {time.monotonic() - started:.1f}s", file=sys.stderr)
    print(lab.status().render())
    return 0
