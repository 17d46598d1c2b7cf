"""Making sure the runtime works in the host's mount namespace, whoever started it.

The runtime must run inside its node's *network* namespace but in the host's *mount*
namespace: runc looks for the cgroup mounts in `/proc/self/mountinfo`, and the rootfs and
namespace bind mounts the runtime makes must be visible to the kubelet, to `nodelab down` and to
the runtime's own next incarnation. `nsenter --net=/run/netns/<node>` gives exactly that.
`ip netns exec <node>`, which the lab's daemon supervisor uses because it keeps the PID, also
unshares a private mount namespace with a fresh `/sys` (no cgroup mounts in it). So on start,
while the process is still single-threaded (setns of a mount namespace refuses threaded
callers), the runtime re-joins the mount namespace of the process that started it (`ip` execs
the runtime, so that is the launcher), or of PID 1 when the parent is gone, if it is in another
one. The network namespace is untouched.
"""

from __future__ import annotations

import ctypes
import os

CLONE_NEWNS = 0x00020000


def rejoin_host_mount_namespace() -> bool:
    """Enter the launcher's (or PID 1's) mount namespace if we are not in it; True if we moved."""
    own = os.stat("/proc/self/ns/mnt").st_ino
    for pid in dict.fromkeys((os.getppid(), 1)):
        try:
            if os.stat(f"/proc/{pid}/ns/mnt").st_ino == own:
                return False
            fd = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY)
        except OSError:
            continue
        break
    else:
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, CLONE_NEWNS) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"cannot enter the host mount namespace: {os.strerror(errno)} "
                                 "(start the runtime with `nsenter --net=...` instead of "
                                 "`ip netns exec`)")
    finally:
        os.close(fd)
    os.chdir("/")
    return True
