"""Resource use of one cgroup, read from its files, on cgroup v1 (and hybrid) or v2.

`read_cgroup_stats("nodelab/a/pod1/app")` returns a `CgroupStats`: memory use and limit, OOM
kills, cumulative CPU time, CFS quota, periods and throttling, and the member PIDs. The path is
relative to the hierarchy root, as a container's `cgroupsPath` is; on v1 each controller's
hierarchy is looked up in /proc/self/mounts (memory, cpu, cpuacct may be mounted apart or
together as `cpu,cpuacct`), on v2 everything is in one directory.

| fact            | cgroup v1                                   | cgroup v2                        |
|-----------------|---------------------------------------------|----------------------------------|
| memory use      | memory.usage_in_bytes                       | memory.current                   |
| memory limit    | memory.limit_in_bytes (huge = unlimited)    | memory.max (`max`)               |
| OOM kills       | memory.oom_control `oom_kill`               | memory.events `oom_kill`         |
| CPU time        | cpuacct.usage (ns)                          | cpu.stat `usage_usec`            |
| quota           | cpu.cfs_quota_us / cpu.cfs_period_us        | cpu.max (`max 100000`)           |
| throttled       | cpu.stat nr_throttled, throttled_time (ns)  | cpu.stat nr_throttled, ..._usec  |
| working set     | usage - memory.stat total_inactive_file     | current - inactive_file          |
| rss, faults     | memory.stat total_rss, total_pg(maj)fault   | memory.stat anon, pg(maj)fault   |

The working set is cAdvisor's (and so the kubelet's and metrics-server's): memory in use minus
the inactive file cache the kernel can drop at once, never below 0 (`working_set`).

A file that is missing or unreadable gives `None` (a controller not enabled for that group), so
a reader works on every host; `exists` says whether the group is there at all. Nothing here
writes to the cgroup tree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from nodelab.host.cgroups import CGROUP_ROOT, cgroup_version

UNLIMITED_V1 = 1 << 62
"""v1 reports "no limit" as a page-rounded LONG_MAX; anything above this is unlimited."""


@dataclass(frozen=True)
class CgroupStats:
    path: str
    version: int
    exists: bool
    memory_bytes: int | None = None
    memory_limit: int | None = None
    """None when unlimited (or unknown)."""
    memory_peak: int | None = None
    oom_kills: int | None = None
    cpu_usage_ns: int | None = None
    cpu_quota_cores: float | None = None
    """CFS quota / period: how many CPUs' worth of time the group may use; None = unlimited."""
    cpu_periods: int | None = None
    cpu_throttled_periods: int | None = None
    cpu_throttled_ns: int | None = None
    memory_working_set: int | None = None
    memory_rss: int | None = None
    page_faults: int | None = None
    major_page_faults: int | None = None
    pids: tuple[int, ...] = ()
    taken_at: float = field(default=0.0, compare=False)
    """time.monotonic() when read (not part of equality)."""


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _int(path: Path) -> int | None:
    text = _read(path)
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def _keyed(path: Path) -> dict[str, int]:
    text = _read(path) or ""
    found: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            found[parts[0]] = int(parts[1])
    return found


def working_set(usage: int | None, inactive_file: int | None) -> int | None:
    """cAdvisor's working set: usage less the inactive file cache, never below 0."""
    if usage is None:
        return None
    return max(0, usage - (inactive_file or 0))


def _memory_stat(stat: dict[str, int], usage: int | None, prefix: str) -> dict[str, object]:
    """The figures read from memory.stat (`prefix` "total_" on v1: the hierarchical sums)."""
    rss_key = "total_rss" if prefix else "anon"
    return dict(
        memory_working_set=working_set(usage, stat.get(prefix + "inactive_file")),
        memory_rss=stat.get(rss_key),
        page_faults=stat.get(prefix + "pgfault"),
        major_page_faults=stat.get(prefix + "pgmajfault"),
    )


def _pids(directory: Path) -> tuple[int, ...]:
    text = _read(directory / "cgroup.procs") or ""
    return tuple(sorted(int(p) for p in text.split() if p.isdigit()))


def v1_mount(controller: str) -> Path | None:
    """Where the v1 hierarchy holding `controller` is mounted (None if it is not)."""
    text = _read(Path("/proc/self/mounts")) or ""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == "cgroup" and controller in fields[3].split(","):
            return Path(fields[1])
    return None


def read_cgroup_stats(path: str, version: int | None = None) -> CgroupStats:
    """The stats of cgroup `path` (relative to the hierarchy root, e.g. `nodelab/a/x`)."""
    relative = path.strip("/")
    version = version or cgroup_version()
    now = time.monotonic()
    if version == 2:
        return read_v2_group(relative, CGROUP_ROOT / relative, now)
    return _read_v1(relative, now)


def read_v2_group(relative: str, group: Path, now: float | None = None) -> CgroupStats:
    """The stats of the cgroup v2 directory `group` (named `relative` in the result)."""
    now = time.monotonic() if now is None else now
    if not group.is_dir():
        return CgroupStats(relative, 2, False, taken_at=now)
    limit_text = (_read(group / "memory.max") or "").strip()
    cpu_max = (_read(group / "cpu.max") or "").split()
    quota = None
    if len(cpu_max) == 2 and cpu_max[0] != "max":
        quota = int(cpu_max[0]) / int(cpu_max[1])
    cpu = _keyed(group / "cpu.stat")
    events = _keyed(group / "memory.events")
    usage = _int(group / "memory.current")
    memory: dict[str, object] = {}
    if usage is not None:
        memory = _memory_stat(_keyed(group / "memory.stat"), usage, "")
    return CgroupStats(
        path=relative,
        version=2,
        exists=True,
        memory_bytes=usage,
        memory_limit=int(limit_text) if limit_text.isdigit() else None,
        memory_peak=_int(group / "memory.peak"),
        oom_kills=events.get("oom_kill"),
        cpu_usage_ns=cpu["usage_usec"] * 1000 if "usage_usec" in cpu else None,
        cpu_quota_cores=quota,
        cpu_periods=cpu.get("nr_periods"),
        cpu_throttled_periods=cpu.get("nr_throttled"),
        cpu_throttled_ns=cpu["throttled_usec"] * 1000 if "throttled_usec" in cpu else None,
        pids=_pids(group),
        taken_at=now,
        **memory,  # type: ignore[arg-type]
    )


def _read_v1(relative: str, now: float) -> CgroupStats:
    memory_root, cpu_root, cpuacct_root = v1_mount("memory"), v1_mount("cpu"), v1_mount("cpuacct")
    memory = memory_root / relative if memory_root else None
    cpu = cpu_root / relative if cpu_root else None
    cpuacct = cpuacct_root / relative if cpuacct_root else None
    present = [d for d in (memory, cpu, cpuacct) if d is not None and d.is_dir()]
    if not present:
        return CgroupStats(relative, 1, False, taken_at=now)
    stats: dict[str, object] = {}
    if memory is not None and memory.is_dir():
        limit = _int(memory / "memory.limit_in_bytes")
        usage = _int(memory / "memory.usage_in_bytes")
        stats.update(_memory_stat(_keyed(memory / "memory.stat"), usage, "total_"))
        stats.update(
            memory_bytes=usage,
            memory_limit=limit if limit is not None and limit < UNLIMITED_V1 else None,
            memory_peak=_int(memory / "memory.max_usage_in_bytes"),
            oom_kills=_keyed(memory / "memory.oom_control").get("oom_kill"),
        )
    if cpu is not None and cpu.is_dir():
        quota = _int(cpu / "cpu.cfs_quota_us")
        period = _int(cpu / "cpu.cfs_period_us")
        throttling = _keyed(cpu / "cpu.stat")
        stats.update(
            cpu_quota_cores=quota / period if quota and quota > 0 and period else None,
            cpu_periods=throttling.get("nr_periods"),
            cpu_throttled_periods=throttling.get("nr_throttled"),
            cpu_throttled_ns=throttling.get("throttled_time"),
        )
    if cpuacct is not None and cpuacct.is_dir():
        stats["cpu_usage_ns"] = _int(cpuacct / "cpuacct.usage")
    return CgroupStats(
        path=relative, version=1, exists=True, pids=_pids(present[0]), taken_at=now,
        **stats,  # type: ignore[arg-type]
    )
