"""Writing a configMap/secret/downwardAPI/projected volume as upstream's AtomicWriter does.

A container reading its volume must never see half an update, and the kubelet (root) must never
write through anything a container planted. Upstream's layout (pkg/volume/util/atomic_writer.go)
gives both:

```
<volume>/..2026_12_03_04_05_06.123456789/   the payload of one update (files, subdirectories)
<volume>/..data -> ..2026_12_03_...        which payload is current
<volume>/key -> ..data/key                 what the user sees: one symlink per top-level name
```

An update writes a new timestamped directory, points `..data_tmp` at it and renames that over
`..data` (one atomic rename switches every file at once), then removes the user-visible names
that are gone and the old payload directory. Nothing is written when the payload is unchanged.

Every file is created relative to a directory fd, with `O_CREAT | O_EXCL | O_NOFOLLOW`, in a
directory the kubelet just made; the volume is mounted read-only in every container
(`volumes.READ_ONLY_PLUGINS`), so no link can be planted there in the first place. Payload paths
are checked as upstream's `validatePath`: relative, no `..` component, not starting with `..`.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nodelab.errors import NodelabError
from nodelab.host.beneath import (
    DIR_FLAGS,
    PathEscape,
    components,
    lstat_at,
    open_beneath,
    open_dir,
    remove_at,
)

DATA_DIR = "..data"
DATA_TMP = "..data_tmp"
MAX_PATH = 4096


class PayloadError(NodelabError):
    """A payload path the writer refuses (absolute, with `..`, too long)."""


@dataclass(frozen=True)
class FileProjection:
    """One file of a volume's payload: its bytes, mode and (fsGroup) group."""

    data: bytes
    mode: int = 0o644
    gid: int | None = None


def payload_parts(path: str) -> list[str]:
    """The components of a payload path, refused as upstream's validatePath refuses them."""
    if len(path) > MAX_PATH:
        raise PayloadError(f"volume item path {path[:64]!r}...: must be less than {MAX_PATH} "
                           "characters")
    try:
        parts = components(path, "volume item path")
    except PathEscape as exc:
        raise PayloadError(str(exc)) from exc
    if not parts:
        raise PayloadError(f"volume item path {path!r} names the volume itself")
    if parts[0].startswith(".."):
        raise PayloadError(f"volume item path {path!r} must not start with '..'")
    return parts


def _timestamped_name() -> str:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y_%m_%d_%H_%M_%S")
    return f"..{now}.{secrets.randbelow(10**9):09d}"


def _payload_dir_name(name: str) -> bool:
    """A name this writer could have given a payload directory (one component, `..<stamp>`)."""
    return name.startswith("..") and "/" not in name and name not in ("..", DATA_DIR, DATA_TMP)


def _unchanged(volume_fd: int, current: str, payload: Mapping[str, FileProjection]) -> bool:
    """Whether the current payload directory holds exactly `payload` (bytes, modes, groups)."""
    try:
        current_fd = open_dir(volume_fd, [current])
    except (OSError, PathEscape):
        return False
    try:
        seen = 0
        for relative, wanted in payload.items():
            fd = open_beneath(current_fd, payload_parts(relative), os.O_RDONLY)
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                if (handle.read() != wanted.data or stat.S_IMODE(info.st_mode) != wanted.mode
                        or (wanted.gid is not None and info.st_gid != wanted.gid)):
                    return False
            seen += 1
        return seen == _count_files(current_fd)
    except (OSError, PathEscape):
        return False
    finally:
        os.close(current_fd)


def _count_files(dir_fd: int) -> int:
    count = 0
    for name in os.listdir(dir_fd):
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            child = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
            try:
                count += _count_files(child)
            finally:
                os.close(child)
        else:
            count += 1
    return count


def _write_payload(payload_fd: int, payload: Mapping[str, FileProjection]) -> None:
    for relative, projection in payload.items():
        *parents, name = payload_parts(relative)
        parent_fd = open_dir(payload_fd, parents, create=True, mode=0o755)
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(name, flags, 0o600, dir_fd=parent_fd)
        finally:
            os.close(parent_fd)
        with os.fdopen(fd, "wb") as out:
            out.write(projection.data)
            if projection.gid is not None:
                os.fchown(out.fileno(), -1, projection.gid)
            os.fchmod(out.fileno(), projection.mode)


def write_volume(volume_dir: Path, payload: Mapping[str, FileProjection]) -> bool:
    """Make `volume_dir` show exactly `payload`; True if anything changed."""
    for relative in payload:
        payload_parts(relative)
    volume_fd = os.open(volume_dir, DIR_FLAGS)
    try:
        info = lstat_at(volume_fd, DATA_DIR)
        current = (os.readlink(DATA_DIR, dir_fd=volume_fd)
                   if info is not None and stat.S_ISLNK(info.st_mode) else None)
        if current is not None and not _payload_dir_name(current):
            current = None  # not one of ours: replaced, never followed
        if current is not None and _unchanged(volume_fd, current, payload):
            return False
        new = _timestamped_name()
        os.mkdir(new, 0o755, dir_fd=volume_fd)
        payload_fd = open_dir(volume_fd, [new])
        try:
            _write_payload(payload_fd, payload)
        finally:
            os.close(payload_fd)
        visible = {payload_parts(relative)[0] for relative in payload}
        for name in sorted(visible):
            if lstat_at(volume_fd, name) is None:
                os.symlink(f"{DATA_DIR}/{name}", name, dir_fd=volume_fd)
        remove_at(volume_fd, DATA_TMP)
        os.symlink(new, DATA_TMP, dir_fd=volume_fd)
        os.rename(DATA_TMP, DATA_DIR, src_dir_fd=volume_fd, dst_dir_fd=volume_fd)
        for name in os.listdir(volume_fd):
            if not name.startswith("..") and name not in visible:
                remove_at(volume_fd, name)
        if current is not None and current != new:
            remove_at(volume_fd, current)
        return True
    finally:
        os.close(volume_fd)
