"""Mounts nodelab makes and removes (overlay rootfs, namespace pins, tmpfs), by system call.

`mount` and `unmount` call mount(2) and umount2(2) directly rather than starting `mount` and
`umount`: with 110 pods starting at once, a process per mount was a measurable part of the
runtime's CPU. `mounts_under` lists what is mounted below a directory nodelab owns.
"""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path

MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 4096
MS_REC = 16384
MS_SHARED = 1 << 20
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)


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


def mount(source: str, target: str | Path, fstype: str | None, flags: int = 0,
          data: str | None = None) -> None:
    """mount(2): `mount -t FSTYPE -o DATA SOURCE TARGET` with the option words that are flags
    (nosuid, bind, ...) given as `flags`; raise OSError naming the target."""
    if _libc.mount(os.fsencode(source), os.fsencode(target),
                   fstype.encode() if fstype else None, flags,
                   data.encode() if data else None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"cannot mount {source} ({fstype or 'bind'}) on {target}: "
                           f"{os.strerror(err)}")


def unmount(point: str | Path, lazy: bool = True) -> None:
    """Detach a mount (lazily: at once, in use or not, as `umount -l`); fine if it is
    already gone."""
    if _libc.umount2(os.fsencode(point), MNT_DETACH if lazy else 0) != 0:
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOENT):
            raise OSError(err, f"cannot unmount {point}: {os.strerror(err)}")
