"""Read a sandbox's Linux namespaces from /proc: identities, members, and what pins them.

A pod sandbox is a set of namespaces (net, ipc, uts, and optionally pid) that the pod's
containers join. Each namespace is identified by the inode number of its nsfs file
(`readlink /proc/<pid>/ns/net` gives `net:[4026532201]`). A namespace lives as long as a
process is in it *or* its file is bind-mounted somewhere: the pause container holds them the
first way; runtimes that pin namespaces (CRI-O, containerd's netns under /var/run/netns,
`ip netns add`) use the second. `read_sandbox(pid)` returns, for the sandbox's process:

- every namespace's inode, whether the host (this process) shares it, and the nsfs bind mounts
  that pin it (from /proc/self/mountinfo, where an nsfs mount's root field is `net:[inode]`);
- every process in the same network namespace (the pod's members), with which of the sandbox's
  namespaces each one shares (for a hostNetwork pod, the first namespace it does not share
  with the host decides membership instead).

Processes come and go while /proc is read; one that vanished is simply left out.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

NAMESPACE_TYPES = ("net", "ipc", "uts", "pid", "mnt", "cgroup", "user")
_INODE = re.compile(r"^(\w+):\[(\d+)\]$")


@dataclass(frozen=True)
class NamespaceInfo:
    type: str
    inode: int
    shared_with_host: bool
    pinned_at: tuple[str, ...]


@dataclass(frozen=True)
class MemberProcess:
    pid: int
    comm: str
    cmdline: str
    shares: tuple[str, ...]
    """The namespace types this process shares with the sandbox process."""


@dataclass(frozen=True)
class SandboxSnapshot:
    pid: int
    alive: bool
    namespaces: tuple[NamespaceInfo, ...] = ()
    members: tuple[MemberProcess, ...] = ()


def namespace_inodes(pid: int | str) -> dict[str, int]:
    """{type: inode} of the namespaces of process `pid` (`self` for this one)."""
    found: dict[str, int] = {}
    for kind in NAMESPACE_TYPES:
        try:
            match = _INODE.match(os.readlink(f"/proc/{pid}/ns/{kind}"))
        except OSError:
            continue
        if match:
            found[kind] = int(match.group(2))
    return found


def pinned_namespaces(mountinfo: str | None = None) -> dict[int, list[str]]:
    """{inode: [mount points]} of nsfs bind mounts (pure when `mountinfo` text is given)."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return {}
    pins: dict[int, list[str]] = {}
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, after = left.split(), right.split()
        if len(fields) < 5 or not after or after[0] != "nsfs":
            continue
        match = _INODE.match(fields[3])
        if match:
            pins.setdefault(int(match.group(2)), []).append(fields[4])
    return pins


def _read(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


def read_sandbox(pid: int) -> SandboxSnapshot:
    """The namespaces of sandbox process `pid` and every process in its network namespace."""
    mine = namespace_inodes(pid)
    if not mine:
        return SandboxSnapshot(pid, False)
    host = namespace_inodes("self")
    pins = pinned_namespaces()
    namespaces = tuple(
        NamespaceInfo(kind, inode, host.get(kind) == inode, tuple(sorted(pins.get(inode, []))))
        for kind, inode in mine.items()
    )
    key = next((k for k in ("net", "ipc", "uts", "pid") if k in mine and host.get(k) != mine[k]),
               "net")
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        theirs = namespace_inodes(entry)
        if not theirs or theirs.get(key) != mine.get(key):
            continue
        comm = _read(f"/proc/{entry}/comm").strip()
        cmdline = _read(f"/proc/{entry}/cmdline").replace("\0", " ").strip()
        shares = tuple(k for k in NAMESPACE_TYPES if k in mine and theirs.get(k) == mine[k])
        members.append(MemberProcess(int(entry), comm, cmdline[:120], shares))
    return SandboxSnapshot(pid, True, namespaces, tuple(sorted(members, key=lambda m: m.pid)))
