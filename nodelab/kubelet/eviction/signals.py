"""Measuring the eviction signals on the real machine (the apply side of `thresholds`).

- memory.available: as upstream (makeSignalObservations reads the Summary API's node memory),
  the node's capacity minus the working set of the node's cgroup, `cgroupRoot`: a lab node's own
  group `nodelab/<lab>/<node>` (so each lab node is a machine of its own, as a kind node is,
  and what other work on the host does changes nothing), the root group on a machine of its
  own; the capacity is `MemTotal` (or a lower limit on that group). /stats/summary's
  `node.memory.availableBytes` is the same figure. Where the root has no memory accounting
  (cgroup v2's root), the kernel's `MemAvailable`;
- nodefs.*: statvfs of the kubelet's state dir;
- imagefs.*: statvfs of the mountpoint the runtime's CRI `ImageFsInfo` names, else the nodefs;
- pid.available: `kernel.pid_max` minus the tasks the kernel runs (4th field of
  /proc/loadavg, what sysinfo(2) `procs` counts and upstream uses).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from nodelab.host.cgroup_stats import read_cgroup_stats
from nodelab.kubelet.cri import CRIClient, CRIError
from nodelab.kubelet.eviction.thresholds import Observation
from nodelab.kubelet.machine import filesystem_bytes, parse_meminfo

log = logging.getLogger("nodelab.kubelet")


def pid_counts(loadavg: str, pid_max: str) -> Observation:
    """pid.available from the text of /proc/loadavg and /proc/sys/kernel/pid_max."""
    running = int(loadavg.split()[3].split("/")[1])
    limit = int(pid_max.strip())
    return Observation(limit - running, limit)


def memory_available(meminfo: Mapping[str, int], node_group: bool, exists: bool,
                     working_set: int | None, limit: int | None) -> Observation:
    """memory.available of a node whose cgroup (`node_group`: not the root) `exists` with
    `working_set` and `limit` (None: unlimited), on a machine of `meminfo`."""
    total = meminfo.get("MemTotal", 0)
    capacity = min(limit, total) if limit else total
    if node_group and not exists:
        return Observation(capacity, capacity)  # no pod has run yet: nothing is used
    if working_set is None:
        return Observation(meminfo.get("MemAvailable", 0), total)
    return Observation(max(0, capacity - working_set), capacity)


def measure(state_dir: Path, cri: CRIClient | None = None,
            cgroup_root: str = "/") -> dict[str, Observation]:
    meminfo = parse_meminfo(Path("/proc/meminfo").read_text())
    node = read_cgroup_stats(cgroup_root)
    observed = {
        "memory.available": memory_available(meminfo, bool(cgroup_root.strip("/")),
                                             node.exists, node.memory_working_set,
                                             node.memory_limit),
        "pid.available": pid_counts(Path("/proc/loadavg").read_text(),
                                    Path("/proc/sys/kernel/pid_max").read_text()),
    }
    size, free, inodes, inodes_free = filesystem_bytes(state_dir)
    observed["nodefs.available"] = Observation(free, size)
    observed["nodefs.inodesFree"] = Observation(inodes_free, inodes)
    image_dir = state_dir
    if cri is not None:
        try:
            for fs in cri.image_fs_info():
                mount = Path(fs.fs_id.mountpoint)
                if fs.fs_id.mountpoint and mount.exists():
                    image_dir = mount
                    break
        except CRIError as exc:
            log.debug("imagefs unknown, using the nodefs: %s", exc)
    size, free, inodes, inodes_free = filesystem_bytes(image_dir)
    observed["imagefs.available"] = Observation(free, size)
    observed["imagefs.inodesFree"] = Observation(inodes_free, inodes)
    return observed
