"""The host's cgroup hierarchies (v1, hybrid or v2) and removing a subtree nodelab owns.

On cgroup v2 there is one hierarchy at /sys/fs/cgroup. On v1 (and hybrid, where an empty v2
hierarchy sits at /sys/fs/cgroup/unified) each controller has its own; a lab's group exists in
each of them under the same relative path. nodelab only ever touches paths under `nodelab/`.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_version() -> int:
    """2 on a unified (v2-only) host, 1 on v1 or hybrid hosts."""
    return 2 if (CGROUP_ROOT / "cgroup.controllers").exists() else 1


def hierarchies() -> list[Path]:
    """The mount points of every cgroup hierarchy (v1 controllers and any v2 one)."""
    found: list[Path] = []
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return found
    for line in mounts:
        fields = line.split()
        if len(fields) >= 3 and fields[2] in ("cgroup", "cgroup2"):
            path = Path(fields[1])
            if path not in found:
                found.append(path)
    return found


def v1_controllers() -> list[str]:
    """The v1 controllers mounted on this host (empty on a v2-only host)."""
    names: list[str] = []
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return names
    for line in mounts:
        fields = line.split()
        if len(fields) >= 4 and fields[2] == "cgroup":
            names += [o for o in fields[3].split(",") if o in _V1_CONTROLLERS]
    return sorted(set(names))


def v2_controllers() -> list[str]:
    try:
        return (CGROUP_ROOT / "cgroup.controllers").read_text().split()
    except OSError:
        return []


_V1_CONTROLLERS = {
    "cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "devices", "freezer", "net_cls",
    "net_prio", "hugetlb", "perf_event", "rdma", "misc",
}


def existing_groups(relative: str) -> list[Path]:
    """Every hierarchy's copy of the group `relative` (e.g. `nodelab/a`) that exists."""
    return [h / relative for h in hierarchies() if (h / relative).is_dir()]


def remove_group_tree(group: Path, timeout: float = 5.0) -> None:
    """Remove a cgroup and its children, deepest first (a group must be empty of processes),
    then its ancestors under `nodelab/` that are left empty, `nodelab/` itself included."""
    if not group.is_dir():
        _prune_empty_ancestors(group)
        return
    for directory, _subdirs, _files in sorted(os.walk(group), key=lambda w: -len(w[0])):
        deadline = time.monotonic() + timeout  # per group: a node of 110 pods has hundreds
        while True:
            try:
                os.rmdir(directory)
                break
            except FileNotFoundError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                _kill_members(Path(directory))
                time.sleep(0.05)
    _prune_empty_ancestors(group)


def _prune_empty_ancestors(group: Path) -> None:
    """rmdir the empty ancestors of `group` up to its hierarchy's `nodelab/` (never above, and
    never a group that still has children: rmdir refuses those)."""
    mounts = [h for h in hierarchies() if group.is_relative_to(h)]
    if not mounts:
        return
    hierarchy = max(mounts, key=lambda h: len(h.parts))
    parts = group.relative_to(hierarchy).parts
    if not parts or parts[0] != "nodelab":
        return
    for depth in range(len(parts) - 1, 0, -1):
        try:
            os.rmdir(hierarchy.joinpath(*parts[:depth]))
        except FileNotFoundError:
            continue
        except OSError:
            return


def _kill_members(group: Path) -> None:
    """Members of a nodelab group are processes the lab started: end them so it can go."""
    try:
        pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
