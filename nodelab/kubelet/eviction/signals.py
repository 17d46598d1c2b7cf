"""Measuring the eviction signals on the real machine (the apply side of `thresholds`).

- memory.available: `MemAvailable` of /proc/meminfo out of `MemTotal` (upstream computes
  capacity minus the root cgroup's working set; MemAvailable is the kernel's own estimate of the
  same thing and reads the same on cgroup v1 and v2);
- nodefs.*: statvfs of the kubelet's state dir;
- imagefs.*: statvfs of the mountpoint the runtime's CRI `ImageFsInfo` names, else the nodefs;
- pid.available: `kernel.pid_max` minus the tasks the kernel runs (4th field of
  /proc/loadavg, what sysinfo(2) `procs` counts and upstream uses).
"""

from __future__ import annotations

import logging
from pathlib import Path

from nodelab.kubelet.cri import CRIClient, CRIError
from nodelab.kubelet.eviction.thresholds import Observation
from nodelab.kubelet.machine import filesystem_bytes, parse_meminfo

log = logging.getLogger("nodelab.kubelet")


def pid_counts(loadavg: str, pid_max: str) -> Observation:
    """pid.available from the text of /proc/loadavg and /proc/sys/kernel/pid_max."""
    running = int(loadavg.split()[3].split("/")[1])
    limit = int(pid_max.strip())
    return Observation(limit - running, limit)


def measure(state_dir: Path, cri: CRIClient | None = None) -> dict[str, Observation]:
    meminfo = parse_meminfo(Path("/proc/meminfo").read_text())
    observed = {
        "memory.available": Observation(meminfo.get("MemAvailable", 0),
                                        meminfo.get("MemTotal", 0)),
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
