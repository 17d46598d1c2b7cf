"""The pod-level cgroup and its limits, as the kubelet's pod container manager sets them.

Upstream (cgroupfs driver) puts each pod at `<cgroupRoot>/kubepods/[burstable|besteffort/]
pod<uid>` and writes the pod's limits there before the sandbox starts:

- Guaranteed: cpu shares, quota and memory limit = the sums over its containers;
- Burstable: cpu shares always; the quota only if every container sets a cpu limit, the memory
  limit only if every container sets a memory limit;
- BestEffort: cpu shares 2, nothing else.

`pod_limits` is the plan; `apply_pod_cgroup` writes it (v1: cpu.shares, cpu.cfs_quota_us,
cpu.cfs_period_us, memory.limit_in_bytes; v2: cpu.weight converted as runc does, cpu.max,
memory.max). It only ever writes under `/nodelab/`: a kubelet whose cgroupRoot points
elsewhere leaves pod limits to the runtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nodelab.host import cgroups
from nodelab.kube.objects import ObjectView
from nodelab.kube.pod.qos import BEST_EFFORT, GUARANTEED
from nodelab.kube.quantities import parse_quantity
from nodelab.kubelet.pods.resources.qos import (
    MIN_SHARES,
    QUOTA_PERIOD,
    cpu_quota,
    cpu_shares,
    milli_cpu,
    qos_class,
)


@dataclass(frozen=True)
class PodLimits:
    cpu_shares: int
    cpu_quota: int | None = None  # microseconds per QUOTA_PERIOD
    memory_limit: int | None = None  # bytes


def pod_limits(pod: ObjectView) -> PodLimits:
    qos = qos_class(pod)
    if qos == BEST_EFFORT:
        return PodLimits(MIN_SHARES)
    containers = list((pod.get("spec") or {}).get("containers") or [])
    request_milli = limit_milli = memory = 0
    every_cpu_limit = every_memory_limit = bool(containers)
    for container in containers:
        resources = container.get("resources") or {}
        limits = resources.get("limits") or {}
        requests = {**limits, **(resources.get("requests") or {})}
        request_milli += milli_cpu(requests["cpu"]) if "cpu" in requests else 0
        if "cpu" in limits:
            limit_milli += milli_cpu(limits["cpu"])
        else:
            every_cpu_limit = False
        if "memory" in limits:
            memory += parse_quantity(limits["memory"])
        else:
            every_memory_limit = False
    guaranteed = qos == GUARANTEED
    return PodLimits(
        cpu_shares=cpu_shares(request_milli),
        cpu_quota=cpu_quota(limit_milli) if (guaranteed or every_cpu_limit) else None,
        memory_limit=memory if (guaranteed or every_memory_limit) else None,
    )


def weight_from_shares(shares: int) -> int:
    """cgroup v2 cpu.weight from v1 shares, runc's formula."""
    return 1 + ((shares - 2) * 9999) // 262142


def _write(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value)


def apply_pod_cgroup(parent: str, limits: PodLimits) -> list[Path]:
    """Create the pod cgroup `parent` (absolute, under /nodelab/) and write its limits."""
    if not parent.startswith("/nodelab/"):
        return []
    relative = parent.strip("/")
    written = []
    if cgroups.cgroup_version() == 2:
        group = cgroups.CGROUP_ROOT / relative
        _write(group / "cpu.weight", str(weight_from_shares(limits.cpu_shares)))
        quota = str(limits.cpu_quota) if limits.cpu_quota is not None else "max"
        _write(group / "cpu.max", f"{quota} {QUOTA_PERIOD}")
        if limits.memory_limit is not None:
            _write(group / "memory.max", str(limits.memory_limit))
        return [group]
    cpu = cgroups.CGROUP_ROOT / "cpu" / relative
    _write(cpu / "cpu.shares", str(limits.cpu_shares))
    if limits.cpu_quota is not None:
        _write(cpu / "cpu.cfs_period_us", str(QUOTA_PERIOD))
        _write(cpu / "cpu.cfs_quota_us", str(limits.cpu_quota))
    written.append(cpu)
    if limits.memory_limit is not None:
        memory = cgroups.CGROUP_ROOT / "memory" / relative
        _write(memory / "memory.limit_in_bytes", str(limits.memory_limit))
        written.append(memory)
    return written
