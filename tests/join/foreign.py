"""A foreign cluster for joined labs: an embedded lab A, known to the joiner only through a
copy of its admin kubeconfig file (what `nodelab join` would be given for kind or any cluster).
Used by the join tests and the course's `cluster=<kubeconfig>` notebook test."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nodelab.lab.lab import Lab, take_down_lab
from tests.conftest import unique_lab_name


@contextmanager
def foreign_cluster() -> Iterator[tuple[Lab, Path]]:
    """Lab A (1 node, embedded) and a copy of its admin kubeconfig; A is taken down after."""
    name = unique_lab_name()
    with tempfile.TemporaryDirectory(prefix="nlt-join-") as tmp:
        try:
            a = Lab.up(name, 1, progress=lambda _m: None)
            given = Path(tmp) / "foreign.kubeconfig"
            shutil.copy(a.kubeconfig, given)  # the only thing a joiner learns about A
            yield a, given
        finally:
            take_down_lab(name)
