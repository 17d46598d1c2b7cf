"""What labs leave on a host: everything with a nodelab name, found by scanning the kernel.

The test suite snapshots this at the start and fails at the end if anything new is left; the
before-stop hook and `nodelab down` use the same names. It looks at network namespaces and
root-namespace links whose names start with `nl`, cgroups under `nodelab/`, mounts whose path
mentions nodelab or the state base, processes carrying `NODELAB_LAB`, iptables chains whose name
starts with `NL` and nft tables whose name starts with `nl`; and, when no host containerd runs
(so only nodelab's labs and tests could have made them), containerd's files outside its state
dir: /run/containerd/s and each shim socket in it, /run/containerd/runc and its namespaces.
"""

from __future__ import annotations

import os
from pathlib import Path

from nodelab.host import cgroups, netlink
from nodelab.host.commands import CommandError, run
from nodelab.host.processes import LAB_ENV
from nodelab.lab.containerd.host_files import CONTAINERD_RUN, SOCKET_ROOT, host_containerd_running
from nodelab.lab.paths import state_base


def residue() -> set[str]:
    found: set[str] = set()
    found |= {f"netns {n}" for n in netlink.list_netns() if n.startswith("nl")}
    found |= {f"link {n}" for n in netlink.link_names() if n.startswith("nl")}
    for hierarchy in cgroups.hierarchies():
        root = hierarchy / "nodelab"
        if root.is_dir():
            found.add(f"cgroup {root}")
            found |= {f"cgroup {p}" for p in _entries(root) if p.is_dir()}
    base = str(state_base())
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1]
        if "nodelab" in point or point.startswith(base):
            found.add(f"mount {point}")
    found |= {f"process {p}" for p in _lab_process_names()}
    found |= _iptables_chains()
    found |= _nft_tables()
    found |= _containerd_files()
    return found


def _containerd_files() -> set[str]:
    if host_containerd_running():
        return set()
    found: set[str] = set()
    for root in (SOCKET_ROOT, CONTAINERD_RUN / "runc"):
        if root.is_dir():
            found.add(f"path {root}")
            found |= {f"path {p}" for p in _entries(root)}
    return found


def _entries(directory: Path) -> list[Path]:
    """The directory's entries; none once it is gone (another lab's `down` removes the
    shared parents, the `nodelab` cgroups and /run/containerd/s, when it leaves them empty)."""
    try:
        return list(directory.iterdir())
    except FileNotFoundError:
        return []


def _lab_process_names() -> set[str]:
    names: set[str] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        labs = [v.split(b"=", 1)[1].decode(errors="replace") for v in environ
                if v.startswith(f"{LAB_ENV}=".encode())]
        if labs and cmdline:
            names.add(f"{entry.name} {cmdline[:80]} (lab {labs[0]})")
    return names


def _iptables_chains() -> set[str]:
    found: set[str] = set()
    for table in ("filter", "nat", "mangle", "raw"):
        try:
            lines = run(["iptables", "-t", table, "-S"], check=True).stdout.splitlines()
        except CommandError:
            continue
        for line in lines:
            words = line.split()
            if words[:1] == ["-N"] and words[1].upper().startswith("NL"):
                found.add(f"iptables {table} {words[1]}")
    return found


def _nft_tables() -> set[str]:
    try:
        lines = run(["nft", "list", "tables"]).stdout.splitlines()
    except CommandError:
        return set()
    return {f"nft {line.strip()}" for line in lines if line.split()[-1:] and
            line.split()[-1].startswith("nl")}
