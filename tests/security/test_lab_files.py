"""A running lab's files: state 0700, the API store 0600, every key, kubeconfig and token 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nodelab.lab.lab import Lab
from nodelab.lab.paths import LabPaths

from .victim import FIGURE

pytestmark = [pytest.mark.slow, pytest.mark.privileged]

SECRET_SUFFIXES = (".key", ".kubeconfig", ".token", ".db")
SECRET_NAMES = ("kubeconfig", "controlplane.db", "sa.key", "ca.key", "push.password",
                "push.htpasswd")


def secret_files(root: Path) -> list[Path]:
    """nodelab's own secret files. Pods' volume payloads are not among them: their modes are
    the pod's (`defaultMode`, upstream's 0644 for a Secret volume), and other users reach them
    only through the lab's 0700 state directory, which the test checks."""
    found = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "runtime"  # images, not secrets
                   and not (d == "data" and Path(directory).name == "registry")
                   and not (d == "volumes" and Path(directory).parent.name == "pods")]
        for name in files:
            if name.endswith(SECRET_SUFFIXES) or name in SECRET_NAMES:
                found.append(Path(directory) / name)
    return found


def test_lab_state_is_private(lab: Lab) -> None:
    root = LabPaths.for_lab(lab.name).root
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    files = secret_files(root)
    assert any(f.name.endswith(".key") for f in files) and any(
        f.name == "kubeconfig" for f in files) and any(f.name == "push.password" for f in files)
    readable = [f"{f} {oct(stat.S_IMODE(f.stat().st_mode))}" for f in files
                if stat.S_IMODE(f.stat().st_mode) & 0o077]
    FIGURE.record("lab files readable by others", readable)
    assert readable == []
