"""Unpacking image layers into overlayfs-ready snapshot directories.

An image layer is a tar (usually gzipped) of the files it adds or changes, plus two kinds of
marker entries from the OCI image spec:

- a *whiteout* `dir/.wh.name` says "`dir/name` from the layers below is deleted";
- an *opaque* marker `dir/.wh..wh..opq` says "hide everything the layers below had in `dir`".

nodelab stacks one snapshot directory per layer as overlayfs `lowerdir`s (as containerd's overlay
snapshotter does), so the markers are translated to overlayfs's own vocabulary instead of being
applied by deleting files: a whiteout becomes a 0:0 character device, an opaque directory gets the
`trusted.overlay.opaque=y` extended attribute. The kernel then hides the lower entries when it
merges the stack into a container's rootfs.

A layer comes from the network, so every entry is checked before it touches the disk:

- names are relative and never contain `..`, so nothing is written outside the snapshot;
- no entry is written *through* a symlink another entry created (`a -> /etc`, then `a/passwd`);
- hard links point at a file inside the snapshot (no `..`, no absolute target).

Symlinks themselves may point anywhere (images are full of `/bin/sh -> busybox`-style absolute
links): they are only resolved later, inside the container's root, never during unpacking.
Anything else raises `LayerEscape`, and the caller throws the half-written snapshot away.

While unpacking, the uncompressed stream is hashed: that is the layer's *diff ID*, which the image
config lists and which names the snapshot chain (see `chain_ids`).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import stat
import tarfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import IO

from nodelab.errors import NodelabError

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"


class LayerEscape(NodelabError):
    """A layer entry that would write outside its snapshot directory."""


class _HashingReader:
    """Wraps the uncompressed layer stream and hashes everything read through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.hasher = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
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


def safe_member_path(name: str) -> PurePosixPath:
    """A tar member name as a relative path; raise LayerEscape if it could leave the root."""
    path = PurePosixPath(name)
    if path.is_absolute():
        path = path.relative_to("/")
    if any(part == ".." for part in path.parts):
        raise LayerEscape(f"layer entry {name!r} escapes the root with '..'; refusing the layer")
    parts = [p for p in path.parts if p not in ("", ".")]
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def _check_parents(root: Path, rel: PurePosixPath) -> None:
    """Refuse to write `rel` if any of its parent directories is a symlink."""
    current = root
    for part in rel.parts[:-1]:
        current = current / part
        if current.is_symlink():
            raise LayerEscape(
                f"layer entry {str(rel)!r} would be written through the symlink "
                f"{part!r}; refusing the layer"
            )


def _remove(path: Path) -> None:
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        for child in list(path.iterdir()):
            _remove(child)
        path.rmdir()


def _make_whiteout(path: Path) -> None:
    if path.exists() or path.is_symlink():
        _remove(path)
    os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))


def _mark_opaque(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.setxattr(path, "trusted.overlay.opaque", b"y")


def unpack_layer(stream: IO[bytes], root: Path) -> str:
    """Unpack one layer tar (gzip or plain) into `root`; return its diff ID (sha256 of the tar)."""
    head = stream.read(2)
    stream.seek(0)
    raw: IO[bytes] = (
        gzip.GzipFile(fileobj=stream) if head == b"\x1f\x8b" else stream  # type: ignore[assignment]
    )
    reader = _HashingReader(raw)
    root.mkdir(parents=True, exist_ok=True)
    dir_times: list[tuple[Path, float]] = []
    with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
        for member in tar:
            _unpack_member(tar, member, root, dir_times)
    reader.drain()
    for path, mtime in reversed(dir_times):
        os.utime(path, (mtime, mtime), follow_symlinks=False)
    return "sha256:" + reader.hasher.hexdigest()


def _unpack_member(
    tar: tarfile.TarFile, member: tarfile.TarInfo, root: Path, dir_times: list[tuple[Path, float]]
) -> None:
    rel = safe_member_path(member.name)
    if str(rel) == ".":
        return
    _check_parents(root, rel)
    target = root / rel
    base = rel.name
    if base == OPAQUE_MARKER:
        _mark_opaque(target.parent)
        return
    if base.startswith(WHITEOUT_PREFIX):
        target.parent.mkdir(parents=True, exist_ok=True)
        _make_whiteout(target.parent / base[len(WHITEOUT_PREFIX):])
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if member.isdir():
        if target.exists() and not target.is_dir():
            _remove(target)
        target.mkdir(exist_ok=True)
        dir_times.append((target, float(member.mtime)))
    else:
        if target.exists() or target.is_symlink():
            _remove(target)
        if member.issym():
            os.symlink(member.linkname, target)
        elif member.islnk():
            link_rel = PurePosixPath(member.linkname)
            if link_rel.is_absolute():
                raise LayerEscape(
                    f"layer hard link {member.name!r} -> {member.linkname!r} is absolute; "
                    "refusing the layer"
                )
            link_rel = safe_member_path(member.linkname)
            _check_parents(root, link_rel)
            os.link(root / link_rel, target, follow_symlinks=False)
        elif member.isfile():
            source = tar.extractfile(member)
            assert source is not None
            with source, open(target, "wb") as out:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
        elif member.ischr() or member.isblk():
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            os.mknod(target, kind | member.mode, os.makedev(member.devmajor, member.devminor))
        elif member.isfifo():
            os.mkfifo(target, member.mode)
        else:
            return
    if os.geteuid() == 0:  # unprivileged unpacking (Binder) keeps the caller as owner
        os.lchown(target, member.uid, member.gid)
    if not member.issym():
        os.chmod(target, member.mode)
        if not member.isdir():
            os.utime(target, (member.mtime, member.mtime))
    for key, value in (member.pax_headers or {}).items():
        if key.startswith("SCHILY.xattr."):
            with contextlib.suppress(OSError):
                os.setxattr(target, key[len("SCHILY.xattr."):], value.encode("latin-1"),
                            follow_symlinks=False)
