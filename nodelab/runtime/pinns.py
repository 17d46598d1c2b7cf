"""A pod's new namespaces, pinned to files by a short-lived thread: CRI-O's `pinns`, in-process.

A sandbox's network, IPC and UTS namespaces must outlive every process (nodelab runs no pause
process, see namespaces.py), so each is *pinned*: the namespace file of a task inside it,
`/proc/thread-self/ns/<kind>`, is bind-mounted onto a file, and the namespace lives as long as
that mount. CRI-O starts its small C tool `pinns` for this; `ip netns add NAME` and
`unshare --ipc=FILE` do the same, a process per call. With 110 pods starting at once those
processes (`ip netns add`, `ip link set lo up`, `unshare ... hostname`) were a measurable part of
the runtime's CPU, so the runtime does the same work itself.

On Linux these namespaces belong to a *thread*, not to the whole process: unshare(2) moves only
the calling thread into new ones. `pin()` therefore runs the steps in a thread of its own:

1. create each pin file (`O_EXCL`: an existing one is an error, as `ip netns add` says);
2. unshare(2) with the kinds asked for (CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS);
3. in a new UTS namespace, sethostname(2) (what `hostname NAME` did);
4. in a new network namespace, bring `lo` up (what `ip link set lo up` did): an ioctl on a
   socket the thread opens, which belongs to the thread's network namespace;
5. bind-mount `/proc/thread-self/ns/<kind>` onto each pin file.

Then the thread ends and the namespaces live on in their pins. Threads share the process's
mount namespace, so the pins are made in the host's, where the kubelet, runc and `nodelab down`
see them. A failed step undoes the pins made so far and raises `PinError` naming the step.

The same trick reads what a pod's network namespace shows in /proc/net (`read_net_file`: a
thread joins the namespace with setns(2) and reads `/proc/thread-self/net/<file>`), what
`ip netns exec NAME cat /proc/net/dev` would start two processes for.

Network namespaces are pinned under `/run/netns`, where `ip netns list` and `ip netns exec`
look; as `ip netns add` does, that directory is first made a shared mount point, so an unmount
there reaches every mount namespace.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import socket
import struct
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from nodelab.errors import NodelabError
from nodelab.host import mounts

CLONE_FLAGS = {"net": 0x40000000, "ipc": 0x08000000, "uts": 0x04000000}  # CLONE_NEW*
NETNS_RUN_DIR = Path("/run/netns")
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
IFREQ = "16sH22x"  # struct ifreq: the interface name, then ifr_flags in the union (40 bytes)

_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


class PinError(NodelabError):
    """A namespace could not be created or pinned; nothing of the call is left behind."""


def pin(pins: Mapping[str, str], hostname: str = "") -> None:
    """Create a new namespace of each kind in `pins` ({"net" | "ipc" | "uts": file}) and pin it
    at its file; a new UTS namespace gets `hostname`, a new network namespace `lo` up."""
    unknown = sorted(set(pins) - set(CLONE_FLAGS))
    if unknown:
        raise PinError(f"cannot pin {', '.join(unknown)} namespaces: only net, ipc and uts")
    if not pins:
        return
    in_own_thread(lambda: _pin_from_this_thread(pins, hostname))


def read_net_file(netns_path: str, name: str) -> str:
    """`/proc/net/<name>` (dev, snmp, ...) as the network namespace pinned at `netns_path` sees
    it; raise OSError."""
    def work() -> str:
        fd = os.open(netns_path, os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_FLAGS["net"]) != 0:
                errno = ctypes.get_errno()
                raise OSError(errno, f"cannot enter {netns_path}: {os.strerror(errno)}")
        finally:
            os.close(fd)
        return Path(f"/proc/thread-self/net/{name}").read_text()

    return in_own_thread(work)


def in_own_thread(work: Callable[[], T]) -> T:
    """Run `work` in a new thread, whose namespaces it may change (they go with the thread),
    and return what it returns or raise what it raises."""
    result: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=run, name="pinns")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return result[0]


def prepare_netns_dir() -> None:
    """Make /run/netns a shared mount point, as `ip netns add` does before each add."""
    NETNS_RUN_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    try:
        mounts.mount("", NETNS_RUN_DIR, "none", mounts.MS_SHARED | mounts.MS_REC)
    except OSError:  # not a mount point yet (EINVAL): bind it onto itself, then share it
        mounts.mount(str(NETNS_RUN_DIR), NETNS_RUN_DIR, "none", mounts.MS_BIND | mounts.MS_REC)
        mounts.mount("", NETNS_RUN_DIR, "none", mounts.MS_SHARED | mounts.MS_REC)


def _pin_from_this_thread(pins: Mapping[str, str], hostname: str) -> None:
    created: list[str] = []
    mounted: list[str] = []
    step = ""
    try:
        if "net" in pins:
            step = f"prepare {NETNS_RUN_DIR}"
            prepare_netns_dir()
        for path in pins.values():
            step = f"create the namespace file {path}"
            os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
            created.append(path)
        step = f"unshare {', '.join(pins)} namespaces"
        flags = 0
        for kind in pins:
            flags |= CLONE_FLAGS[kind]
        if _libc.unshare(flags) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno))
        if "uts" in pins:
            step = f"set the hostname {hostname or 'localhost'!r}"
            socket.sethostname(hostname or "localhost")
        if "net" in pins:
            step = "bring lo up"
            _loopback_up()
        for kind, path in pins.items():
            step = f"pin the {kind} namespace at {path}"
            mounts.mount(f"/proc/thread-self/ns/{kind}", path, "none", mounts.MS_BIND)
            mounted.append(path)
    except OSError as exc:
        for path in mounted:
            with contextlib.suppress(OSError):
                mounts.unmount(path)
        for path in created:
            with contextlib.suppress(OSError):
                os.unlink(path)
        raise PinError(f"cannot {step}: {exc.strerror or exc}") from exc


def _loopback_up() -> None:
    """SIOCSIFFLAGS with IFF_UP on `lo` of this thread's network namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        name, flags = struct.unpack(IFREQ, fcntl.ioctl(sock, SIOCGIFFLAGS,
                                                       struct.pack(IFREQ, b"lo", 0)))
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack(IFREQ, name, flags | IFF_UP))
