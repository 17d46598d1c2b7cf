"""`nodelab kind up [--name N] [--nodes K]` / `nodelab kind down [--name N]`: a kind cluster,
joined by a nodelab lab.

`up` needs a Docker engine (`docker info` answers) and the `kind` CLI on PATH: it creates the
kind cluster `nodelab-<N>` unless it exists, writes its kubeconfig into the lab's state dir and
joins it (`nodelab join`). `down` takes the joined lab down, then deletes the kind cluster.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from nodelab.cli.join import join_lab
from nodelab.errors import NodelabError
from nodelab.lab.lab import take_down_lab
from nodelab.lab.paths import LabPaths

DEFAULT_KIND_LAB = "kind"


def kind_cluster(lab: str) -> str:
    return f"nodelab-{lab}"


def check_tools() -> str:
    """The kind binary, once Docker answers; a clear error otherwise."""
    kind = shutil.which("kind")
    if kind is None:
        raise NodelabError("kind is not installed: install it from https://kind.sigs.k8s.io "
                           "(`go install sigs.k8s.io/kind@latest`, or its release binary), "
                           "and a Docker engine")
    if shutil.which("docker") is None:
        raise NodelabError("docker is not installed: kind runs its nodes as Docker "
                           "containers (apt-get install docker.io)")
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
        detail = (info.stderr.strip().splitlines() or [""])[-1]
    except subprocess.TimeoutExpired:
        info, detail = None, "no answer in 30s"
    if info is None or info.returncode != 0:
        raise NodelabError(f"no Docker engine answers `docker info` ({detail}): start dockerd "
                           "(or install docker.io); kind runs its nodes as Docker containers")
    return kind


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


def run_kind(argv: list[str], capture: bool = True) -> str:
    """Run a kind command; its failure as a NodelabError that says what failed."""
    result = subprocess.run(argv, capture_output=capture, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()[-3:] if capture else [
            "see kind's output above"]
        raise NodelabError(f"`{' '.join(argv)}` failed (exit {result.returncode}): "
                           f"{' '.join(detail)}")
    return result.stdout or ""


def run_up(args: argparse.Namespace) -> int:
    kind = check_tools()
    cluster = kind_cluster(args.name)
    existing = run_kind([kind, "get", "clusters"]).split()
    if cluster not in existing:
        print(f"creating kind cluster {cluster}", file=sys.stderr)
        run_kind([kind, "create", "cluster", "--name", cluster], capture=False)
    kubeconfig = run_kind([kind, "get", "kubeconfig", "--name", cluster])
    paths = LabPaths.for_lab(args.name)
    paths.root.mkdir(parents=True, exist_ok=True)
    path: Path = paths.root / "kind.kubeconfig"
    path.write_text(kubeconfig)
    path.chmod(0o600)
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
