"""The lab's lock: `up`, `join` and a change of a running lab's settings hold it, one at a time."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from nodelab.host.private_files import private_dir
from nodelab.lab.paths import LabPaths


@contextmanager
def locked(paths: LabPaths) -> Iterator[None]:
    private_dir(paths.root)  # keys, kubeconfigs and the API store live here
    with open(paths.lock, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
