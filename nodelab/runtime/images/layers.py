"""Unpacking image layers into overlayfs-ready snapshot directories.

An image layer is a tar (usually gzipped) of the files it adds or changes, plus two kinds of
marker entries from the OCI image spec:

- a *whiteout* `dir/.wh.name` says "`dir/name` from the layers below is deleted";
- an *opaque* marker `dir/.wh..wh..opq` says "hide everything the layers below had in `dir`".

nodelab stacks one snapshot directory per layer as overlayfs `lowerdir`s (as containerd's overlay
snapshotter does), so the markers are translated to overlayfs's own vocabulary instead of being
applied by deleting files: a whiteout becomes a 0:0 character device, an opaque directory gets the
`trusted.overlay.opaque=y` extended attribute. The kernel then hides the lower entries when it
merges the stack into a container's rootfs. Other `.wh..wh.` entries are aufs bookkeeping and are
skipped, as containerd does.

A layer comes from the network and the runtime runs as root, so unpacking can never act outside
the snapshot directory (`nodelab.host.beneath`):

- every create, chown, chmod, utime and xattr is done relative to the fd of the entry's parent
  directory, opened beneath the snapshot root with no symlink followed on the way
  (openat2 `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, or an `O_NOFOLLOW` walk);
- names are made relative (a leading `/` is dropped, as tar and containerd do) and `..` is refused;
- an entry replacing a symlink (or anything else) removes it first, then creates with `O_EXCL`;
  a directory entry over a symlink replaces the link instead of chmodding what it points to;
- hard links point only at regular files already in this snapshot;
- whiteouts name one entry of their directory (never `.` or `..`);
- `trusted.overlay.*` attributes are refused: only the markers above set them;
- the uncompressed stream and every file's content count against `max_bytes` (a decompression
  bomb stops at the cap) and names longer than PATH_MAX are refused.

Symlinks themselves may point anywhere (images are full of `/bin/sh -> busybox`-style absolute
links): they are resolved later, inside the container's root, never during unpacking. Anything
refused raises `LayerRefused` (`LayerEscape` for escapes), and the caller throws the half-written
snapshot away.

While unpacking, the uncompressed stream is hashed: that is the layer's *diff ID*, which the image
config lists and which names the snapshot chain (see `chain_ids`).
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import logging
import os
import stat
import tarfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import IO

from nodelab.errors import NodelabError
from nodelab.host.beneath import (
    DIR_FLAGS,
    PathEscape,
    components,
    lstat_at,
    open_dir,
    remove_at,
)

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
OPAQUE_MARKER = ".wh..wh..opq"
PATH_MAX = 4096
DEFAULT_MAX_LAYER_BYTES = 8 << 30  # per layer, uncompressed; the runtime's --max-layer-size

log = logging.getLogger(__name__)


class LayerRefused(NodelabError):
    """A layer nodelab will not unpack (malformed, too large, or hostile)."""


class LayerEscape(LayerRefused):
    """A layer entry that would act outside its snapshot directory."""


class LayerTooLarge(LayerRefused):
    """A layer whose uncompressed content passes the runtime's cap (a decompression bomb)."""


class _HashingReader:
    """Wraps the uncompressed layer stream, hashes and counts everything read through it."""

    def __init__(self, raw: IO[bytes], max_bytes: int) -> None:
        self._raw = raw
        self.hasher = hashlib.sha256()
        self.count = 0
        self.max_bytes = max_bytes

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size if size >= 0 else 1 << 20)
        self.count += len(data)
        if self.count > self.max_bytes:
            raise LayerTooLarge(
                f"layer is larger than {self.max_bytes} bytes uncompressed (a decompression "
                "bomb, or raise the runtime's --max-layer-size); refusing the layer"
            )
        self.hasher.update(data)
        return data

    def drain(self) -> None:
        while self.read(1 << 20):
            pass


def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """The OCI chain IDs of a layer stack.

    chain[0] = diff[0]; chain[n] = sha256(chain[n-1] + " " + diff[n]).
    """
    chains: list[str] = []
    for diff_id in diff_ids:
        if not chains:
            chains.append(diff_id)
        else:
            text = f"{chains[-1]} {diff_id}".encode()
            chains.append("sha256:" + hashlib.sha256(text).hexdigest())
    return chains


def member_parts(name: str) -> list[str]:
    """A tar member name as path components beneath the root; LayerEscape if it could leave it."""
    if len(name.encode("utf-8", "surrogateescape")) > PATH_MAX:
        raise LayerRefused(f"layer entry {name[:64]!r}... is longer than {PATH_MAX} bytes; "
                           "refusing the layer")
    try:
        return components(name.lstrip("/"), "layer entry")
    except PathEscape as exc:
        raise LayerEscape(f"{exc}; refusing the layer") from exc


def safe_member_path(name: str) -> PurePosixPath:
    """A tar member name as a relative path; raise LayerEscape if it could leave the root."""
    parts = member_parts(name)
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def unpack_layer(stream: IO[bytes], root: Path, max_bytes: int = DEFAULT_MAX_LAYER_BYTES) -> str:
    """Unpack one layer tar (gzip or plain) into `root`; return its diff ID (sha256 of the tar)."""
    head = stream.read(2)
    stream.seek(0)
    raw: IO[bytes] = (
        gzip.GzipFile(fileobj=stream) if head == b"\x1f\x8b" else stream  # type: ignore[assignment]
    )
    reader = _HashingReader(raw, max_bytes)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    root_fd = os.open(root, DIR_FLAGS)
    unpacker = _Unpacker(root_fd, max_bytes)
    try:
        with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                unpacker.member(tar, member)
        reader.drain()
        unpacker.finish()
    except tarfile.TarError as exc:
        raise LayerRefused(f"layer is not a readable tar ({exc}); refusing the layer") from exc
    except (EOFError, gzip.BadGzipFile) as exc:
        raise LayerRefused(f"layer is truncated or not gzip ({exc}); refusing the layer") from exc
    finally:
        os.close(root_fd)
    return "sha256:" + reader.hasher.hexdigest()


class _Unpacker:
    """Applies tar members beneath one root fd."""

    def __init__(self, root_fd: int, max_bytes: int) -> None:
        self.root_fd = root_fd
        self.max_bytes = max_bytes
        self.written = 0
        self.dir_times: list[tuple[list[str], str, float]] = []

    def member(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        parts = member_parts(member.name)
        if not parts:
            return  # the root itself: its mode stays the snapshot's
        try:
            self._apply(tar, member, parts)
        except PathEscape as exc:
            raise LayerEscape(f"{exc}; refusing the layer") from exc
        except OSError as exc:
            raise LayerRefused(
                f"layer entry {member.name[:200]!r} cannot be unpacked: {exc.strerror or exc}; "
                "refusing the layer") from exc

    def finish(self) -> None:
        for parents, base, mtime in reversed(self.dir_times):
            try:
                parent_fd = open_dir(self.root_fd, parents, what="layer entry")
            except (OSError, PathEscape):
                continue  # a later entry replaced a parent: nothing of it is left to time
            try:
                if lstat_at(parent_fd, base) is not None:
                    os.utime(base, (mtime, mtime), dir_fd=parent_fd, follow_symlinks=False)
            finally:
                os.close(parent_fd)

    def _apply(self, tar: tarfile.TarFile, member: tarfile.TarInfo, parts: list[str]) -> None:
        *parents, base = parts
        if base.startswith(WHITEOUT_META_PREFIX):
            if base == OPAQUE_MARKER:
                fd = open_dir(self.root_fd, parents, create=True, what="layer entry")
                try:
                    os.setxattr(fd, "trusted.overlay.opaque", b"y")
                finally:
                    os.close(fd)
            return
        parent_fd = open_dir(self.root_fd, parents, create=True, what="layer entry")
        try:
            if base.startswith(WHITEOUT_PREFIX):
                self._whiteout(parent_fd, base[len(WHITEOUT_PREFIX):], member.name)
            else:
                self._create(tar, member, parent_fd, base)
                self._metadata(member, parent_fd, base)
                if member.isdir():
                    self.dir_times.append((parents, base, float(member.mtime)))
        finally:
            os.close(parent_fd)

    @staticmethod
    def _whiteout(parent_fd: int, hidden: str, name: str) -> None:
        if hidden in ("", ".", ".."):
            raise LayerEscape(f"layer whiteout {name!r} names {hidden!r}, not an entry of its "
                              "directory; refusing the layer")
        remove_at(parent_fd, hidden)
        os.mknod(hidden, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=parent_fd)

    def _create(self, tar: tarfile.TarFile, member: tarfile.TarInfo, parent_fd: int,
                base: str) -> None:
        existing = lstat_at(parent_fd, base)
        if member.isdir():
            if existing is not None and stat.S_ISDIR(existing.st_mode):
                return
            remove_at(parent_fd, base)
            os.mkdir(base, 0o700, dir_fd=parent_fd)
            return
        remove_at(parent_fd, base)
        if member.issym():
            os.symlink(member.linkname, base, dir_fd=parent_fd)
        elif member.islnk():
            self._hard_link(member, parent_fd, base)
        elif member.isfile():
            self._write_file(tar, member, parent_fd, base)
        elif member.ischr() or member.isblk():
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            os.mknod(base, kind | 0o600, os.makedev(member.devmajor, member.devminor),
                     dir_fd=parent_fd)
        elif member.isfifo():
            os.mkfifo(base, 0o600, dir_fd=parent_fd)
        else:
            raise LayerRefused(f"layer entry {member.name!r} has tar type {member.type!r}, which "
                               "nodelab does not unpack; refusing the layer")

    def _hard_link(self, member: tarfile.TarInfo, parent_fd: int, base: str) -> None:
        if member.linkname.startswith("/"):
            raise LayerEscape(f"layer hard link {member.name!r} -> {member.linkname!r} is "
                              "absolute; refusing the layer")
        *target_parents, target = member_parts(member.linkname) or [""]
        if not target:
            raise LayerEscape(f"layer hard link {member.name!r} points at the root; refusing")
        source_fd = open_dir(self.root_fd, target_parents, what="layer hard link target")
        try:
            info = lstat_at(source_fd, target)
            if info is None or not stat.S_ISREG(info.st_mode):
                kind = "missing" if info is None else "not a regular file"
                raise LayerEscape(f"layer hard link {member.name!r} -> {member.linkname!r}: the "
                                  f"target is {kind} in this layer; refusing the layer")
            os.link(target, base, src_dir_fd=source_fd, dst_dir_fd=parent_fd,
                    follow_symlinks=False)
        finally:
            os.close(source_fd)

    def _write_file(self, tar: tarfile.TarFile, member: tarfile.TarInfo, parent_fd: int,
                    base: str) -> None:
        source = tar.extractfile(member)
        assert source is not None
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(base, flags, 0o600, dir_fd=parent_fd)
        with source, os.fdopen(fd, "wb") as out:
            while chunk := source.read(1 << 20):
                self.written += len(chunk)
                if self.written > self.max_bytes:
                    raise LayerTooLarge(
                        f"layer files hold more than {self.max_bytes} bytes (a decompression "
                        "bomb, or raise the runtime's --max-layer-size); refusing the layer")
                out.write(chunk)

    @staticmethod
    def _metadata(member: tarfile.TarInfo, parent_fd: int, base: str) -> None:
        """Owner, mode, xattrs and times of the entry just made, never through a link.

        Order matters: chown clears setuid bits and file capabilities, so mode and xattrs follow.
        """
        if os.geteuid() == 0:  # unprivileged unpacking (Binder) keeps the caller as owner
            os.chown(base, member.uid, member.gid, dir_fd=parent_fd, follow_symlinks=False)
        if not member.issym():
            _chmod_at(parent_fd, base, member.mode & 0o7777)
        pinned = f"/proc/self/fd/{parent_fd}/{base}"  # the parent is pinned by its fd
        for key, value in (member.pax_headers or {}).items():
            if not key.startswith("SCHILY.xattr."):
                continue
            attr = key[len("SCHILY.xattr."):]
            if attr.startswith("trusted.overlay."):
                raise LayerEscape(f"layer entry {member.name!r} carries the overlayfs attribute "
                                  f"{attr!r}; only the runtime sets those; refusing the layer")
            try:
                os.setxattr(pinned, attr, value.encode("utf-8", "surrogateescape"),
                            follow_symlinks=False)
            except OSError as exc:
                if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
                    log.warning("layer entry %r: the filesystem does not support the attribute "
                                "%r; unpacked without it (as containerd does)", member.name, attr)
                    continue
                raise LayerRefused(f"layer entry {member.name!r}: cannot set the attribute "
                                   f"{attr!r}: {exc.strerror}; refusing the layer") from exc
        if not member.isdir():
            os.utime(base, (member.mtime, member.mtime), dir_fd=parent_fd, follow_symlinks=False)


def _chmod_at(parent_fd: int, base: str, mode: int) -> None:
    """chmod of `base` in `parent_fd`, refusing a symlink (what fchmodat's NOFOLLOW would do)."""
    fd = os.open(base, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    try:
        if stat.S_ISLNK(os.fstat(fd).st_mode):
            raise PathEscape(f"{base!r} became a symbolic link while unpacking")
        os.chmod(f"/proc/self/fd/{fd}", mode)
    finally:
        os.close(fd)
