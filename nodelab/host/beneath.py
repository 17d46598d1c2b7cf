"""Opening paths beneath a root directory without ever following a link out of it.

Whenever nodelab, running as root, writes a tree that someone else chose (an image layer from a
registry, a volume a container can also write, a store named after API data), a path is only
safe if *every* component is looked up relative to a directory file descriptor and no component
is a symbolic link. Checking with `is_symlink()` first and then calling `open(root / name)` is not
enough: the lookup happens again, by name, after the check.

Linux 5.6 has the system call for exactly this, `openat2(2)` with
`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`: the kernel resolves the whole path starting at a
directory fd, fails with `EXDEV` if it would leave it and with `ELOOP` at the first symlink.
Python 3.11 has no wrapper, so it is called through ctypes. Where the kernel lacks it (`ENOSYS`,
or a seccomp filter answering `EPERM`), the same result comes from a walk: one
`openat(O_DIRECTORY | O_NOFOLLOW)` per component, each relative to the fd of the one before.
runc (`securejoin`) and containerd (`fs.RootPath`) solve the same problem the same way.

The functions here hand back file descriptors; callers then act *relative to them*
(`os.mkdir(name, dir_fd=fd)`, `os.chown(name, ..., dir_fd=fd, follow_symlinks=False)`,
`os.fchmod(fd, ...)`), so nothing is looked up by full path again. Every refusal is a
`PathEscape` naming the path and the component that stopped it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import stat
from collections.abc import Sequence

from nodelab.errors import NodelabError

SYS_OPENAT2 = 437  # the same number on every architecture Linux added it to at once (5.6)
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class PathEscape(NodelabError):
    """A path that would leave its root: `..`, or a symbolic link on the way."""


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)
_openat2_works: bool | None = None


def components(path: str, what: str = "path") -> list[str]:
    """The names of a relative path; `.` and empty parts dropped, `..` refused.

    A leading `/` is refused too: callers whose inputs are absolute by convention (tar names)
    strip it themselves, so that the choice is visible where it is made.
    """
    if path.startswith("/"):
        raise PathEscape(f"{what} {path!r} is absolute; only paths beneath the root are allowed")
    if "\0" in path:
        raise PathEscape(f"{what} {path!r} contains a NUL byte")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise PathEscape(f"{what} {path!r} contains '..'; it would leave its root")
    return parts


def _openat2(dirfd: int, path: str, flags: int, mode: int) -> int:
    if not flags & (os.O_CREAT | os.O_TMPFILE):
        mode = 0  # openat2 refuses a mode it would not use (EINVAL), unlike openat
    how = _OpenHow(flags, mode, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
    fd = _libc.syscall(
        SYS_OPENAT2, ctypes.c_int(dirfd), os.fsencode(path), ctypes.byref(how),
        ctypes.c_size_t(ctypes.sizeof(how)),
    )
    if fd < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), path)
    return int(fd)


def openat2_available() -> bool:
    """Whether this kernel (and any seccomp filter around us) lets openat2 through."""
    global _openat2_works
    if _openat2_works is None:
        root = os.open("/", DIR_FLAGS)
        try:
            os.close(_openat2(root, ".", DIR_FLAGS, 0))
            _openat2_works = True
        except OSError as exc:
            if exc.errno not in (errno.ENOSYS, errno.EPERM, errno.EINVAL):
                raise
            _openat2_works = False
        finally:
            os.close(root)
    return _openat2_works


def _refusal(root_fd: int, parts: Sequence[str], exc: OSError, what: str) -> PathEscape | OSError:
    """Turn a lookup failure into a PathEscape naming the symlink, or keep the OSError."""
    if exc.errno not in (errno.ELOOP, errno.EXDEV, errno.ENOTDIR):
        return exc
    fd = os.dup(root_fd)
    try:
        for index, part in enumerate(parts):
            try:
                info = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except OSError:
                return exc
            shown = "/".join(parts[: index + 1])
            if stat.S_ISLNK(info.st_mode):
                return PathEscape(
                    f"{what} {'/'.join(parts)!r} goes through the symbolic link {shown!r}; "
                    "nodelab does not follow links while writing beneath a root"
                )
            if not stat.S_ISDIR(info.st_mode):
                return exc if index == len(parts) - 1 else NotADirectoryError(
                    errno.ENOTDIR, f"{what} {'/'.join(parts)!r}: {shown!r} is not a directory"
                )
            next_fd = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = next_fd
    finally:
        os.close(fd)
    return exc


def _walk(root_fd: int, parts: Sequence[str], create: bool, mode: int) -> int:
    fd = os.dup(root_fd)
    try:
        for part in parts:
            try:
                next_fd = os.open(part, DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, mode, dir_fd=fd)
                next_fd = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = next_fd
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_dir(root_fd: int, parts: Sequence[str], create: bool = False, mode: int = 0o755,
             what: str = "path") -> int:
    """An fd of the directory `parts` beneath `root_fd`; missing ones made (`mode`) if `create`."""
    if not parts:
        return os.dup(root_fd)
    try:
        if openat2_available():
            try:
                return _openat2(root_fd, "/".join(parts), DIR_FLAGS, 0)
            except FileNotFoundError:
                if not create:
                    raise
        return _walk(root_fd, parts, create, mode)
    except OSError as exc:
        raise _refusal(root_fd, parts, exc, what) from exc


def open_beneath(root_fd: int, parts: Sequence[str], flags: int, mode: int = 0o600,
                 what: str = "path") -> int:
    """Open `parts` beneath `root_fd` with `flags` (O_NOFOLLOW is always added)."""
    if not parts:
        raise PathEscape(f"{what}: an empty path names the root itself")
    flags |= os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        if openat2_available():
            return _openat2(root_fd, "/".join(parts), flags, mode)
        parent = _walk(root_fd, parts[:-1], False, 0)
        try:
            return os.open(parts[-1], flags, mode, dir_fd=parent)
        finally:
            os.close(parent)
    except OSError as exc:
        raise _refusal(root_fd, parts, exc, what) from exc


def lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    """lstat of `name` in `dir_fd`, None when it does not exist."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def remove_at(dir_fd: int, name: str) -> None:
    """Remove `name` from `dir_fd` whatever it is (a directory with all it holds); no link followed.

    Iterative, so a hostile tree thousands of levels deep cannot exhaust Python's recursion.
    """
    info = lstat_at(dir_fd, name)
    if info is None:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(name, dir_fd=dir_fd)
        return
    # A stack of (parent fd, directory name, fd of the directory, its remaining children).
    stack: list[tuple[int, str, int, list[str]]] = []
    top = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
    stack.append((dir_fd, name, top, os.listdir(top)))
    try:
        while stack:
            parent, dname, fd, children = stack[-1]
            if not children:
                stack.pop()
                os.close(fd)
                os.rmdir(dname, dir_fd=parent)
                continue
            child = children.pop()
            child_info = lstat_at(fd, child)
            if child_info is None:
                continue
            if stat.S_ISDIR(child_info.st_mode):
                child_fd = os.open(child, DIR_FLAGS, dir_fd=fd)
                stack.append((fd, child, child_fd, os.listdir(child_fd)))
            else:
                os.unlink(child, dir_fd=fd)
    finally:
        for _, _, fd, _ in stack:
            os.close(fd)


def remove_tree(path: os.PathLike[str] | str, ignore_errors: bool = False) -> None:
    """Remove `path` (whatever it is, however deep) if it exists; its parent is trusted.

    What `shutil.rmtree` does, without its recursion (a tree a container or an image made can be
    deeper than Python's recursion limit) and without following any link inside.
    """
    parent, name = os.path.split(os.fspath(path).rstrip("/"))
    try:
        parent_fd = os.open(parent or ".", DIR_FLAGS)
    except FileNotFoundError:
        return
    try:
        remove_at(parent_fd, name)
    except OSError:
        if not ignore_errors:
            raise
    finally:
        os.close(parent_fd)
