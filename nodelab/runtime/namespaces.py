"""Pod sandboxes: pinned namespaces, the pod's /etc files and its network, without a pause process.

A sandbox is what containers of one pod share. containerd builds it around a *pause container*
(a process that only sleeps, whose namespaces the others join). nodelab does what CRI-O does with
`pinns`: it creates the namespaces and keeps them alive by bind-mounting them to files, so no
process is needed (`pinns.py`: one short-lived thread of the runtime makes all of a pod's):

    net  /run/netns/<prefix>-<id12>   (as `ip netns add` makes it: `ip netns list` shows it,
                                       with `lo` up)
    ipc  <sandbox dir>/ns/ipc
    uts  <sandbox dir>/ns/uts         (with the pod's hostname set)

A hostNetwork pod shares the node's network and UTS namespaces (its hostname is the node's), a
hostIPC pod the node's IPC namespace and /dev/shm, as in containerd (`sandbox_namespaces`).

The one exception is a shared PID namespace (`shareProcessNamespace: true`): a PID namespace
dies with its first process, so for those pods alone the runtime starts a tiny infra process
(`unshare --pid --fork sleep infinity`) and containers join its namespace.

The sandbox also owns the files the pod's containers bind-mount:

- `hostname`, `hosts` (localhost lines plus `<pod IP> <hostname>`), `resolv.conf` rendered from
  the kubelet's DNSConfig (servers, search, options), or the node's own when DNSConfig is empty.

Sysctls from the pod spec go into each container's OCI spec (applied by runc in the shared
namespaces); `net.*` ones are also written into the netns right away so they hold before the
first container starts. Port mappings are handed to CNI plugins as the `portMappings` capability.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nodelab.host import mounts
from nodelab.host.commands import run
from nodelab.host.etc_hosts import LOCAL_ENTRIES
from nodelab.runtime import pinns


def render_hosts(hostname: str, ip: str) -> str:
    lines = ["# Kubernetes-managed hosts file (written by the nodelab runtime).",
             *LOCAL_ENTRIES]
    if ip:
        lines.append(f"{ip}\t{hostname}")
    return "\n".join(lines) + "\n"


def render_resolv_conf(dns: Any, node_resolv: str) -> str:
    """resolv.conf from a CRI DNSConfig; the node's file when the kubelet sends none."""
    if dns is None or not (dns.servers or dns.searches or dns.options):
        return node_resolv
    lines = []
    if dns.searches:
        lines.append("search " + " ".join(dns.searches))
    lines += [f"nameserver {server}" for server in dns.servers]
    if dns.options:
        lines.append("options " + " ".join(dns.options))
    return "\n".join(lines) + "\n"


def netns_name(prefix: str, sandbox_id: str) -> str:
    return f"{prefix}-{sandbox_id[:12]}"


def is_namespace(path: str) -> bool:
    """Whether `path` still is a namespace (an nsfs file: a pin's bind mount, or a live
    process's /proc/PID/ns/*), not the empty file a pin leaves once unmounted (a host reboot)
    or a path that is gone."""
    try:
        return os.stat(path).st_dev == os.stat("/proc/self/ns/net").st_dev
    except OSError:
        return False


def sandbox_namespaces(host_network: bool, host_ipc: bool) -> tuple[str, ...]:
    """The namespaces a sandbox makes and pins (the others are the node's): hostNetwork
    shares the node's net and uts, hostIPC its ipc."""
    return (*(() if host_network else ("net", "uts")), *(() if host_ipc else ("ipc",)))


def pin_paths(kinds: Sequence[str], ns_dir: Path, netns: str) -> dict[str, str]:
    """Where each namespace of `kinds` is pinned: a netns under /run/netns by its name, the
    others in the sandbox's `ns` dir."""
    return {kind: str(pinns.NETNS_RUN_DIR / netns) if kind == "net" else str(ns_dir / kind)
            for kind in kinds}


def pin_namespaces(pins: dict[str, str], hostname: str) -> None:
    """Create and pin the namespaces of `pins` (see `pin_paths`), the UTS one with `hostname`
    (localhost when empty) and the network one with `lo` up; raise PinError."""
    for path in pins.values():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    pinns.pin(pins, hostname)


def delete_netns(name: str) -> None:
    """What `ip netns delete NAME` does: detach the pin (lazily) and remove its file."""
    path = pinns.NETNS_RUN_DIR / name
    if name and path.exists():
        with contextlib.suppress(OSError):
            mounts.unmount(path)
        with contextlib.suppress(OSError):
            path.unlink()


def start_pid_infra(ns_dir: Path) -> tuple[int, str]:
    """Start the infra process that holds a shared PID namespace; return (pid, ns path)."""
    ns_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--kill-child", "sleep", "infinity"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(200):
        try:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        except OSError:
            children = []
        if children:
            return proc.pid, f"/proc/{children[0]}/ns/pid"
        time.sleep(0.005)
    return proc.pid, f"/proc/{proc.pid}/ns/pid_for_children"


# containerd's sandbox shm: nosuid,noexec,nodev,mode=1777,size=<defaultShmSize, 64 MiB>
SHM_FLAGS = mounts.MS_NOSUID | mounts.MS_NOEXEC | mounts.MS_NODEV
SHM_DATA = "mode=1777,size=65536k"


def mount_shm(path: Path) -> str:
    """The pod's /dev/shm: one tmpfs per sandbox that each of its containers binds
    (containerd's sandbox shm), so they share POSIX shared memory as they share the IPC
    namespace. Mounted by mount(2), not a `mount` process (one per pod in a burst)."""
    path.mkdir(parents=True, exist_ok=True)
    if not os.path.ismount(path):
        try:
            mounts.mount("shm", path, "tmpfs", SHM_FLAGS, SHM_DATA)
        except OSError as exc:
            raise pinns.PinError(f"cannot mount the pod's /dev/shm: {exc.strerror}") from exc
    return str(path)


def unmount_shm(path: str) -> None:
    if path and os.path.ismount(path):
        with contextlib.suppress(OSError):  # busy: the sandbox dir's removal says so
            mounts.unmount(path, lazy=False)


def unpin(paths: Sequence[str]) -> None:
    """Unmount each pin (as `umount`) and remove its file."""
    for path in paths:
        if path and os.path.exists(path):
            with contextlib.suppress(OSError):
                mounts.unmount(path, lazy=False)
            with contextlib.suppress(OSError):
                os.unlink(path)


def apply_net_sysctls(netns: str, sysctls: dict[str, str]) -> None:
    for key, value in sorted(sysctls.items()):
        if key.startswith("net."):
            run(["ip", "netns", "exec", netns, "sysctl", "-q", "-w", f"{key}={value}"])


def parse_net_dev(text: str, ifname: str) -> tuple[int, int, int, int] | None:
    """(rx bytes, rx errors, tx bytes, tx errors) of `ifname` in a /proc/<pid>/net/dev table
    (the kernel's dev_seq_printf_stats: rx bytes, packets, errs, ... then tx bytes, packets,
    errs, ...), or None when the interface is not in it."""
    for line in text.splitlines()[2:]:
        name, _, counters = line.partition(":")
        if name.strip() == ifname:
            fields = counters.split()
            if len(fields) >= 11:
                return int(fields[0]), int(fields[2]), int(fields[8]), int(fields[10])
    return None


def _same_namespace(pid: int, ns_path: str) -> bool:
    with contextlib.suppress(OSError):
        mine, pinned = os.stat(f"/proc/{pid}/ns/net"), os.stat(ns_path)
        return (mine.st_dev, mine.st_ino) == (pinned.st_dev, pinned.st_ino)
    return False


def interface_stats(ns_path: str, ifname: str = "eth0",
                    members: Sequence[int] = ()) -> tuple[int, int, int, int] | None:
    """(rx bytes, rx errors, tx bytes, tx errors) of an interface in the netns pinned at
    `ns_path`, or None: the figures `ip -s link` shows there, without a process per pod and
    scrape. Read from /proc/<pid>/net/dev of one of `members` (the pod's container processes)
    that is in the namespace, or else by a thread that joins it (`pinns.read_net_file`)."""
    for pid in members:
        if pid > 0 and _same_namespace(pid, ns_path):
            with contextlib.suppress(OSError, ValueError):
                return parse_net_dev(Path(f"/proc/{pid}/net/dev").read_text(), ifname)
    try:
        return parse_net_dev(pinns.read_net_file(ns_path, "dev"), ifname)
    except (OSError, ValueError):
        return None


def reap(pid: int) -> None:
    """Kill an infra process we started and collect it so no zombie stays behind."""
    with contextlib.suppress(OSError):
        os.kill(pid, 9)
    for _ in range(100):
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return  # not our child (the runtime restarted since): init reaps it
        if done:
            return
        time.sleep(0.01)
