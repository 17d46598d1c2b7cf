"""Where a container's cgroup lives and what it has used, on cgroup v1 and v2.

runc creates and fills the cgroup from the spec's `linux.cgroupsPath` and `linux.resources`;
the runtime only decides the path and later reads usage back for ContainerStats. The path is
`/<cgroup root>/<pod cgroup parent>/<container id>`, where the cgroup root (`nodelab/<lab>/<node>`)
keeps everything nodelab does below `nodelab/` in the host tree (containerd would use the
parent as given; the prefix is nodelab's safety rule, see docs/runtime.md).

Reading usage:

- v1: `cpuacct.usage` (ns), `memory.usage_in_bytes` and `memory.stat` (`total_inactive_file`),
  `memory.limit_in_bytes`, `pids.current`;
- v2: `cpu.stat` `usage_usec`, `memory.current`, `memory.stat` `inactive_file`, `memory.max`,
  `pids.current`.

The working set is usage minus inactive file pages, as cAdvisor and the kubelet compute it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CGROUP_FS = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "pids", "devices", "freezer", "blkio",
                  "hugetlb", "net_cls", "net_prio", "perf_event", "systemd")


def is_v2() -> bool:
    return (CGROUP_FS / "cgroup.controllers").exists()


def _base(cgroup_root: str, parent: str) -> list[str]:
    """Where a pod's cgroups go: an absolute parent already under `/nodelab/` is used as given
    (containerd's semantics, for a kubelet with a cgroupRoot); any other parent is nested under
    the runtime's own root, so nothing lands outside nodelab's part of the tree."""
    if parent.startswith("/nodelab/"):
        return [parent.strip("/")]
    return [p for p in (cgroup_root.strip("/"), parent.strip("/")) if p]


def container_cgroup_path(cgroup_root: str, parent: str, container_id: str) -> str:
    """The runc `cgroupsPath` for a container (absolute, cgroupfs style)."""
    return "/" + "/".join([*_base(cgroup_root, parent), container_id])


def sandbox_cgroup_path(cgroup_root: str, parent: str, sandbox_id: str) -> str:
    """The pod-level cgroup the sandbox's containers share."""
    parts = _base(cgroup_root, parent)
    if not parent.strip("/"):
        parts.append(f"sandbox-{sandbox_id[:12]}")
    return "/" + "/".join(parts)


@dataclass(frozen=True)
class Usage:
    cpu_ns: int = 0
    memory_usage: int = 0
    working_set: int = 0
    rss: int = 0
    memory_limit: int = 0
    page_faults: int = 0
    major_page_faults: int = 0
    pids: int = 0


def _read_int(path: Path) -> int:
    try:
        text = path.read_text().strip()
    except OSError:
        return 0
    if text == "max" or not text:
        return 0
    try:
        return int(text.split()[0])
    except ValueError:
        return 0


def _read_stat(path: Path) -> dict[str, int]:
    result: dict[str, int] = {}
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return result
    for line in lines:
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            result[key] = int(value)
    return result


def read_usage(cgroup_path: str) -> Usage:
    rel = cgroup_path.strip("/")
    if is_v2():
        base = CGROUP_FS / rel
        stat = _read_stat(base / "memory.stat")
        current = _read_int(base / "memory.current")
        return Usage(
            cpu_ns=_read_stat(base / "cpu.stat").get("usage_usec", 0) * 1000,
            memory_usage=current,
            working_set=max(0, current - stat.get("inactive_file", 0)),
            rss=stat.get("anon", 0),
            memory_limit=_read_int(base / "memory.max"),
            page_faults=stat.get("pgfault", 0),
            major_page_faults=stat.get("pgmajfault", 0),
            pids=_read_int(base / "pids.current"),
        )
    memory = CGROUP_FS / "memory" / rel
    stat = _read_stat(memory / "memory.stat")
    usage = _read_int(memory / "memory.usage_in_bytes")
    limit = _read_int(memory / "memory.limit_in_bytes")
    return Usage(
        cpu_ns=_read_int(CGROUP_FS / "cpuacct" / rel / "cpuacct.usage"),
        memory_usage=usage,
        working_set=max(0, usage - stat.get("total_inactive_file", 0)),
        rss=stat.get("total_rss", 0),
        memory_limit=0 if limit >= (1 << 62) else limit,
        page_faults=stat.get("total_pgfault", 0),
        major_page_faults=stat.get("total_pgmajfault", 0),
        pids=_read_int(CGROUP_FS / "pids" / rel / "pids.current"),
    )


def remove_empty(cgroup_path: str, stop_at: str) -> None:
    """rmdir `cgroup_path` and its empty parents below `stop_at`, in every hierarchy."""
    rel = cgroup_path.strip("/")
    stop = stop_at.strip("/")
    if not rel.startswith(stop):
        return
    roots = [CGROUP_FS] if is_v2() else [CGROUP_FS / c for c in V1_CONTROLLERS]
    if not is_v2() and (CGROUP_FS / "unified").is_dir():
        roots.append(CGROUP_FS / "unified")
    for root in roots:
        current = rel
        while current and current != stop and current.startswith(stop):
            try:
                os.rmdir(root / current)
            except OSError:
                break
            current = os.path.dirname(current)
