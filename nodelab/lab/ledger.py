"""The lab's ledger: every resource is written down *before* it is created.

An append-only JSON-lines file in the lab's state dir. `down` undoes the entries newest first,
so it can clean up after a crash at any point of `up`, after `kill -9` of every lab process, or
after components of later layers (the runtime's cgroups and mounts, kube-proxy's tables) wrote
their own entries. Removing something that is already gone is not an error. A write that
fails (a full filesystem) is cut back off, so the file never holds a torn line the next entry
would join.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from nodelab.host.files import state_write_error

KINDS = ("netns", "link", "daemon", "cgroup", "mount", "nft-table", "iptables-chain",
         "host-dir",  # made or existed outside the lab (containerd_host.py)
         "supervisor")  # the lab supervisor (supervision/): `down` stops it before anything


@dataclass(frozen=True)
class Entry:
    kind: str  # one of KINDS
    name: str
    namespace: str = ""  # the network namespace a link/table/chain lives in ("" = root)
    detail: str = ""  # e.g. the iptables table of a chain, the daemon's pidfile

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown ledger kind {self.kind!r}")


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, entry: Entry) -> None:
        """Write `entry` down (once) before the resource is created."""
        if entry in self.entries():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(asdict(entry), sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.lseek(fd, 0, os.SEEK_END)
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # a torn line from a crash stays alone on its line
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except OSError as exc:  # e.g. a full filesystem: leave no torn line behind
                os.ftruncate(fd, size)
                raise state_write_error(self.path, exc) from exc
        finally:
            os.close(fd)

    def entries(self) -> list[Entry]:
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return []
        found: list[Entry] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                entry = Entry(**json.loads(line))
            except (ValueError, TypeError):
                continue  # a torn last line after a crash
            if entry not in found:
                found.append(entry)
        return found
