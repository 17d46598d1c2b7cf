"""`volumeMounts[].subPath`: a path beneath the volume, never a way out of it.

A container can write its own volumes (an emptyDir, a hostPath), so by the time the kubelet mounts
a subPath for the *next* container, any component of it may be a symlink the first one planted:
`ln -s / /data/escape`, then `subPath: escape` would bind-mount the node's root into the pod
(CVE-2017-1002101). Upstream's kubelet (pkg/volume/util/subpath) answers in two steps, and so
does this module:

1. **resolve** the subPath inside the volume: symlinks are followed only while they stay inside
   (a relative target, `..` never above the volume root); an absolute target or one that climbs
   out is refused with `SubPathError`, which the kubelet reports as CreateContainerConfigError
   with an event;
2. **pin** the result: open it component by component without following links
   (`nodelab.host.beneath`), then bind-mount the opened fd (`/proc/self/fd/N`) onto a
   kubelet-owned path, `<pod dir>/volume-subpaths/<volume>/<container>/<index>`; the runtime
   mounts that path. A link swapped in after step 1 is never followed: the kernel mounts
   the inode the fd holds.

A missing subPath is created as a directory (with the volume directory's mode), as upstream does.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import stat
from pathlib import Path

from nodelab.errors import NodelabError
from nodelab.host.beneath import (
    DIR_FLAGS,
    PathEscape,
    components,
    lstat_at,
    open_beneath,
    open_dir,
)

MAX_SYMLINKS = 40  # Linux's MAXSYMLINKS
MS_BIND = 4096
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)


class SubPathError(NodelabError):
    """A subPath that would leave its volume (the container is not started)."""


def _escape(sub_path: str, volume: str, why: str) -> SubPathError:
    return SubPathError(f'subPath "{sub_path}" of volume "{volume}" {why}: it would leave the '
                        "volume; the container is not started")


def resolve(volume_dir: Path, sub_path: str, volume: str) -> list[str]:
    """The components `sub_path` names inside `volume_dir`, symlinks resolved inside it."""
    try:
        pending = components(sub_path, "subPath")
    except PathEscape as exc:
        raise _escape(sub_path, volume, "is absolute or contains '..'") from exc
    resolved: list[str] = []
    hops = 0
    root_fd = os.open(volume_dir, DIR_FLAGS)
    try:
        while pending:
            part = pending.pop(0)
            if part == "..":
                if not resolved:
                    raise _escape(sub_path, volume, "goes through a symlink that climbs above it")
                resolved.pop()
                continue
            try:
                parent_fd = open_dir(root_fd, resolved)
            except FileNotFoundError:
                resolved.append(part)  # the rest is created as directories
                continue
            try:
                info = lstat_at(parent_fd, part)
                target = os.readlink(part, dir_fd=parent_fd) if (
                    info is not None and stat.S_ISLNK(info.st_mode)) else None
            finally:
                os.close(parent_fd)
            if target is None:
                resolved.append(part)
                continue
            hops += 1
            if hops > MAX_SYMLINKS:
                raise _escape(sub_path, volume, "goes through too many symlinks")
            if target.startswith("/"):
                raise _escape(sub_path, volume,
                              f"goes through the symlink {'/'.join([*resolved, part])!r} -> "
                              f"{target!r}, an absolute path")
            pending = [p for p in target.split("/") if p not in ("", ".")] + pending
    except PathEscape as exc:
        raise _escape(sub_path, volume, str(exc)) from exc
    finally:
        os.close(root_fd)
    return resolved


def _open_pinned(volume_dir: Path, parts: list[str], sub_path: str, volume: str) -> int:
    """An O_PATH fd of `parts` beneath the volume (missing directories made), no link followed."""
    root_fd = os.open(volume_dir, DIR_FLAGS)
    try:
        mode = stat.S_IMODE(os.fstat(root_fd).st_mode)
        parent = open_dir(root_fd, parts[:-1], create=True, mode=mode, what="subPath")
        try:
            if lstat_at(parent, parts[-1]) is None:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(parts[-1], mode, dir_fd=parent)
        finally:
            os.close(parent)
        return open_beneath(root_fd, parts, os.O_PATH, what="subPath")
    except PathEscape as exc:
        raise _escape(sub_path, volume, "changed into a symlink while it was prepared") from exc
    finally:
        os.close(root_fd)


def bind_subpath(volume_dir: Path, sub_path: str, volume: str, target: Path) -> Path:
    """Resolve and pin `sub_path` of `volume_dir` at `target`; the path to give the runtime."""
    parts = resolve(volume_dir, sub_path, volume)
    if not parts:
        return volume_dir
    fd = _open_pinned(volume_dir, parts, sub_path, volume)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISLNK(mode):
            raise _escape(sub_path, volume, "changed into a symlink while it was prepared")
        is_dir = stat.S_ISDIR(mode)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        if os.path.ismount(target):
            _libc.umount2(os.fsencode(target), MNT_DETACH)
        if is_dir:
            target.mkdir(exist_ok=True)
        elif not target.exists():
            target.touch(mode=0o600)
        if _libc.mount(f"/proc/self/fd/{fd}".encode(), os.fsencode(target), None,
                       MS_BIND, None) != 0:
            code = ctypes.get_errno()
            raise SubPathError(f'cannot bind-mount subPath "{sub_path}" of volume "{volume}" '
                               f"at {target}: {os.strerror(code)}")
    finally:
        os.close(fd)
    return target
