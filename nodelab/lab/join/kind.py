"""A kind cluster for a joined lab: the tools it needs, and its kubeconfig.

`nodelab kind up` (cli/kind.py) and the course's `cluster="kind"` (course/lab_session.py) both
join a lab to the kind cluster `nodelab-<lab>`: `tools_problem()` says in one line why kind
cannot run here (no `kind` CLI, no docker CLI, no Docker engine answering `docker info`), and
`kind_kubeconfig(lab)` creates the cluster unless it exists and writes its kubeconfig into the
lab's state dir, for `Lab.join`.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from nodelab.errors import NodelabError
from nodelab.host.private_files import private_dir, write_private
from nodelab.lab.paths import LabPaths

DEFAULT_KIND_LAB = "kind"


def kind_cluster(lab: str) -> str:
    """The kind cluster a lab joins: `nodelab-<lab>`."""
    return f"nodelab-{lab}"


def kind_kubeconfig_path(paths: LabPaths) -> Path:
    return paths.root / "kind.kubeconfig"


def tools_problem() -> str | None:
    """Why kind cannot run on this host (one line), or None when it can."""
    if shutil.which("kind") is None:
        return ("kind is not installed: install it from https://kind.sigs.k8s.io "
                "(`go install sigs.k8s.io/kind@latest`, or its release binary), and a "
                "Docker engine")
    if shutil.which("docker") is None:
        return ("docker is not installed: kind runs its nodes as Docker containers "
                "(apt-get install docker.io)")
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return ("no Docker engine answers `docker info` (no answer in 30s): start dockerd; "
                "kind runs its nodes as Docker containers")
    if info.returncode != 0:
        detail = (info.stderr.strip().splitlines() or [""])[-1]
        return (f"no Docker engine answers `docker info` ({detail}): start dockerd (or install "
                "docker.io); kind runs its nodes as Docker containers")
    return None


def check_tools() -> str:
    """The kind binary, once Docker answers; a clear error otherwise."""
    problem = tools_problem()
    if problem is not None:
        raise NodelabError(problem)
    return str(shutil.which("kind"))


def run_kind(argv: list[str], capture: bool = True) -> str:
    """Run a kind command; its failure as a NodelabError that says what failed."""
    result = subprocess.run(argv, capture_output=capture, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()[-3:] if capture else [
            "see kind's output above"]
        raise NodelabError(f"`{' '.join(argv)}` failed (exit {result.returncode}): "
                           f"{' '.join(detail)}")
    return result.stdout or ""


def kind_kubeconfig(lab: str, base: Path | None = None,
                    say: Callable[[str], None] = lambda _m: None) -> Path:
    """Create the kind cluster of `lab` unless it exists; its kubeconfig, in the lab's state
    dir (private), for `Lab.join`."""
    kind = check_tools()
    cluster = kind_cluster(lab)
    if cluster not in run_kind([kind, "get", "clusters"]).split():
        say(f"creating kind cluster {cluster}")
        run_kind([kind, "create", "cluster", "--name", cluster], capture=False)
    kubeconfig = run_kind([kind, "get", "kubeconfig", "--name", cluster])
    paths = LabPaths.for_lab(lab, base)
    private_dir(paths.root)
    return write_private(kind_kubeconfig_path(paths), kubeconfig)
