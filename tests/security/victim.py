"""A victim tree outside every root a hostile input is aimed at, and the figure the suite prints.

`snapshot` records everything an escape could change about a tree (entries, types, modes, owners,
sizes, times, contents, link targets, extended attributes), so a before/after comparison proves a
hostile input changed nothing outside its root. `Figure` counts the hostile inputs tried and the
host changes seen; tests/security/conftest.py prints it at the end of the run.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Snapshot = dict[str, tuple[object, ...]]


def make_victim(root: Path) -> Path:
    """A small tree like the host files an escape would aim at: a dir, a secret, a link."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "dir").mkdir(mode=0o755)
    (root / "dir" / "inside").write_text("inside\n")
    secret = root / "secret"
    secret.write_text("host secret\n")
    secret.chmod(0o600)
    (root / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "passwd").chmod(0o644)
    (root / "link").symlink_to(root / "secret")
    root.chmod(0o755)
    (root / "dir").chmod(0o755)
    return root


def _entry(path: Path) -> tuple[object, ...]:
    info = os.lstat(path)
    kind = stat.S_IFMT(info.st_mode)
    if stat.S_ISREG(info.st_mode):
        content = hashlib.sha256(path.read_bytes()).hexdigest()
    elif stat.S_ISLNK(info.st_mode):
        content = os.readlink(path)
    else:
        content = ""
    try:
        attrs = tuple(sorted((name, os.getxattr(path, name, follow_symlinks=False))
                             for name in os.listxattr(path, follow_symlinks=False)))
    except OSError:
        attrs = ()
    return (kind, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, info.st_size,
            info.st_mtime_ns, info.st_nlink, content, attrs)


def snapshot(root: Path) -> Snapshot:
    """Every entry under `root` (and `root` itself) with what an escape could change."""
    result: Snapshot = {".": _entry(root)}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            result[str(path.relative_to(root))] = _entry(path)
    return result


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What differs between two snapshots, one line per path."""
    lines = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            lines.append(f"{key}: {before.get(key)} -> {after.get(key)}")
    return lines


@dataclass
class Figure:
    """Hostile inputs tried and host changes seen, by area."""

    tried: dict[str, int] = field(default_factory=dict)
    host_changes: list[str] = field(default_factory=list)

    def record(self, area: str, changed: list[str]) -> None:
        self.tried[area] = self.tried.get(area, 0) + 1
        self.host_changes += changed

    def merge(self, other: Mapping[str, Any]) -> None:
        """Add another process's figure (a pytest-xdist worker's `as_dict()`)."""
        for area, count in other["tried"].items():
            self.tried[area] = self.tried.get(area, 0) + count
        self.host_changes += other["host_changes"]

    def as_dict(self) -> dict[str, Any]:
        return {"tried": dict(self.tried), "host_changes": list(self.host_changes)}

    def lines(self) -> list[str]:
        total = sum(self.tried.values())
        by_area = ", ".join(f"{area}: {count}" for area, count in sorted(self.tried.items()))
        return [f"hostile inputs tried: {total} ({by_area})",
                f"host changes: {len(self.host_changes)}"] + self.host_changes


FIGURE = Figure()
