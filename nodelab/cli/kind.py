"""`nodelab kind up [--name N] [--nodes K]` / `nodelab kind down [--name N]`: a kind cluster,
joined by a nodelab lab.

`up` needs a Docker engine (`docker info` answers) and the `kind` CLI on PATH: it creates the
kind cluster `nodelab-<N>` unless it exists, writes its kubeconfig into the lab's state dir and
joins it (`nodelab join`); lab/join/kind.py does the kind part. `down` takes the joined lab
down, then deletes the kind cluster.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

from nodelab.cli.join import join_lab
from nodelab.lab.join.kind import DEFAULT_KIND_LAB, kind_cluster, kind_kubeconfig
from nodelab.lab.lab import take_down_lab


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("kind", help="a kind cluster joined by a nodelab lab")
    verbs = parser.add_subparsers(dest="kind_verb", metavar="up|down", required=True)
    up = verbs.add_parser("up", help="create a kind cluster (if needed) and join it")
    up.add_argument("--name", default=DEFAULT_KIND_LAB, help=f"lab name (default "
                    f"{DEFAULT_KIND_LAB}; the kind cluster is nodelab-<name>)")
    up.add_argument("--nodes", type=int, default=1, help="nodelab nodes to join (default 1)")
    up.set_defaults(func=run_up)
    down = verbs.add_parser("down", help="take the joined lab down and delete the cluster")
    down.add_argument("--name", default=DEFAULT_KIND_LAB, help="lab name")
    down.set_defaults(func=run_down)


def run_up(args: argparse.Namespace) -> int:
    path = kind_kubeconfig(args.name, say=lambda m: print(m, file=sys.stderr))
    lab = join_lab(path, args.name, args.nodes)
    print(lab.status().render())
    return 0


def run_down(args: argparse.Namespace) -> int:
    take_down_lab(args.name, progress=lambda m: print(f"  {m}", file=sys.stderr))
    kind = shutil.which("kind")
    if kind is None:
        print("kind is not installed: no kind cluster to delete", file=sys.stderr)
        return 0
    deleted = subprocess.run([kind, "delete", "cluster", "--name", kind_cluster(args.name)],
                             check=False)
    if deleted.returncode != 0:
        print(f"`kind delete cluster --name {kind_cluster(args.name)}` failed (exit "
              f"{deleted.returncode}); the lab is down, the kind cluster may remain: "
              "`kind get clusters`", file=sys.stderr)
        return 1
    return 0
