"""Mounts under a directory nodelab owns (overlay rootfs, netns bind mounts, tmpfs volumes)."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from pathlib import Path

MNT_DETACH = 2


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace(
        "\\134", "\\"
    )


def mounts_under(directory: Path) -> list[Path]:
    """Mount points at or below `directory`, deepest first."""
    prefix = str(directory).rstrip("/") + "/"
    found: list[Path] = []
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        point = _unescape(line.split()[1])
        if (point + "/").startswith(prefix) and Path(point) not in found:
            found.append(Path(point))
    return sorted(found, key=lambda p: -len(str(p)))


def unmount(point: Path) -> None:
    """Lazily detach a mount; fine if it is already gone."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.umount2(str(point).encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOENT):
            raise OSError(err, f"cannot unmount {point}: {os.strerror(err)}")
