"""emptyDir sizes (upstream's pkg/volume/emptydir and the eviction manager's local storage
rules).

- `medium: Memory`: the tmpfs is sized as upstream's calculateEmptyDirMemorySize: the node's
  allocatable memory, lowered to the pod's memory limit (when every container has one), lowered
  again to the volume's `sizeLimit`; a write past it fails with ENOSPC (the memory counts
  against the pod's cgroup, as on a real node).
- a disk-backed emptyDir with a `sizeLimit` is measured (`disk_usage`: `du` of the
  directory, in allocated blocks) for the eviction loop, which evicts the pod once it holds
  more than the limit (`eviction/local_storage.py`).
"""

from __future__ import annotations

import os
from pathlib import Path

from nodelab.kube.objects import ObjectView
from nodelab.kubelet.eviction.local_storage import size_limit


def memory_ceiling(allocatable_memory: int, pod_memory_limit: int | None) -> int:
    """What the pod could use of memory at most: node allocatable, or its limit if lower."""
    if pod_memory_limit and 0 < pod_memory_limit <= allocatable_memory:
        return pod_memory_limit
    return allocatable_memory


def tmpfs_size(source: ObjectView, ceiling: int) -> int:
    """The size of a `medium: Memory` emptyDir's tmpfs (0: the kernel's default)."""
    limit = size_limit(source)
    if limit > 0 and (ceiling <= 0 or limit <= ceiling):
        return limit
    return max(ceiling, 0)


def disk_usage(path: Path) -> int:
    """Bytes allocated under `path` on its filesystem (`du -x -s -B1`), links not followed."""
    try:
        device = os.lstat(path).st_dev
    except OSError:
        return 0
    total = 0
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if info.st_dev == device:
                total += info.st_blocks * 512
        dirs[:] = [d for d in dirs if _same_device(os.path.join(root, d), device)]
    return total


def _same_device(path: str, device: int) -> bool:
    try:
        return os.lstat(path).st_dev == device
    except OSError:
        return False

