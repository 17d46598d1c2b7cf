"""Hostile image layers, built byte by byte, each aimed at a victim tree outside the rootfs.

Each `Hostile` is a tar a registry could serve: symlinks followed by entries that would act through
them, hard links to links and outside files, `..` and absolute names, whiteouts of `..`, device
nodes, setuid files, overlayfs attributes, a decompression bomb, very deep and very long names.
`refused` is the text the pull must fail with; None means the layer unpacks, entirely inside the
snapshot (the test then checks `inside` there).
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field

from nodelab.oci.digests import sha256_digest
from nodelab.oci.image import Blob, Layer
from nodelab.oci.mediatypes import OCI_LAYER_GZIP

BOMB_BYTES = 96 << 20
BOMB_CAP = 16 << 20  # the test runtime's --max-layer-size


@dataclass(frozen=True)
class Member:
    name: str
    type: bytes = tarfile.REGTYPE
    data: bytes = b""
    link: str = ""
    mode: int = 0o644
    uid: int = 0
    dev: tuple[int, int] = (0, 0)
    size: int | None = None  # a declared size filled with zeros (the bomb)
    xattrs: dict[str, str] = field(default_factory=dict)


def sym(name: str, target: str) -> Member:
    return Member(name, tarfile.SYMTYPE, link=target, mode=0o777)


def hard(name: str, target: str, mode: int = 0o666) -> Member:
    return Member(name, tarfile.LNKTYPE, link=target, mode=mode)


def dir_(name: str, mode: int = 0o755, uid: int = 0) -> Member:
    return Member(name, tarfile.DIRTYPE, mode=mode, uid=uid)


def file(name: str, data: bytes = b"pwned\n", mode: int = 0o644, **kw: object) -> Member:
    return Member(name, data=data, mode=mode, **kw)  # type: ignore[arg-type]


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def layer(members: list[Member]) -> Layer:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.type, info.mode, info.uid, info.gid = m.type, m.mode, m.uid, m.uid
            info.linkname = m.link
            info.devmajor, info.devminor = m.dev
            info.mtime = 1_000_000
            info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in m.xattrs.items()}
            if m.type == tarfile.REGTYPE:
                info.size = m.size if m.size is not None else len(m.data)
                source = _Zeros(info.size) if m.size is not None else io.BytesIO(m.data)
                tar.addfile(info, source)
            else:
                tar.addfile(info)
    data = raw.getvalue()
    return Layer(Blob(OCI_LAYER_GZIP, gzip.compress(data, compresslevel=1, mtime=0)),
                 sha256_digest(data))


@dataclass(frozen=True)
class Hostile:
    name: str
    members: Callable[[str], list[Member]]  # victim path -> entries
    refused: str | None  # a regex the pull error must match; None: unpacks inside
    inside: Callable[[str], list[tuple[str, str]]] = lambda v: []  # (path, "dir"|"file"|...)


DEEP = "/".join(["d"] * 1500)  # 2999 bytes: under PATH_MAX, 1500 levels

HOSTILE: list[Hostile] = [
    Hostile("symlink-then-dir", lambda v: [sym("d", f"{v}/dir"), dir_("d", 0o777, uid=65534)],
            None, lambda v: [("d", "dir")]),
    Hostile("symlink-then-file", lambda v: [sym("f", f"{v}/secret"), file("f", mode=0o666)],
            None, lambda v: [("f", "file")]),
    Hostile("symlink-then-device", lambda v: [sym("n", f"{v}/secret"),
                                              Member("n", tarfile.CHRTYPE, mode=0o666,
                                                     dev=(1, 3))],
            None, lambda v: [("n", "chr")]),
    Hostile("hard-link-to-symlink", lambda v: [sym("s", f"{v}/secret"), hard("h", "s")],
            "not a regular file"),
    Hostile("hard-link-absolute", lambda v: [hard("h", f"{v}/secret")], "absolute"),
    Hostile("hard-link-dotdot", lambda v: [hard("h", "../../../../../../../.." + v + "/secret")],
            r"'\.\.'"),
    Hostile("hard-link-to-dir", lambda v: [dir_("etc"), hard("h", "etc")], "not a regular file"),
    Hostile("dotdot-name", lambda v: [file("../../../../../../../.." + v + "/planted")],
            r"'\.\.'"),
    Hostile("absolute-name", lambda v: [file(f"{v}/planted")],
            None, lambda v: [(f"{v.lstrip('/')}/planted", "file")]),
    Hostile("write-through-symlink-dir",
            lambda v: [sym("p", v), file("p/planted")], "symbolic link"),
    Hostile("write-through-relative-symlink",
            lambda v: [sym("up", "../" * 20), file("up" + v + "/planted")], "symbolic link"),
    Hostile("chmod-through-nested-symlink",
            lambda v: [dir_("a"), sym("a/b", v), dir_("a/b/dir", 0o777)], "symbolic link"),
    Hostile("whiteout-dotdot", lambda v: [dir_("a"), file("a/.wh..."), file("a/.wh..")],
            r"names '\.\.'|contains '\.\.'"),
    Hostile("whiteout-through-symlink", lambda v: [sym("w", v), file("w/.wh.secret")],
            "symbolic link"),
    Hostile("opaque-through-symlink", lambda v: [sym("o", f"{v}/dir"), file("o/.wh..wh..opq")],
            "symbolic link"),
    Hostile("overlay-xattr", lambda v: [file("x", xattrs={"trusted.overlay.redirect": v})],
            "overlayfs attribute"),
    Hostile("device-nodes", lambda v: [dir_("dev"),
                                       Member("dev/mem", tarfile.CHRTYPE, mode=0o666, dev=(1, 1)),
                                       Member("dev/sda", tarfile.BLKTYPE, mode=0o666, dev=(8, 0))],
            None, lambda v: [("dev/mem", "chr"), ("dev/sda", "blk")]),
    Hostile("setuid-root-shell", lambda v: [dir_("bin"), file("bin/rootsh", b"#!/bin/sh\n",
                                                              mode=0o4755)],
            None, lambda v: [("bin/rootsh", "setuid")]),
    Hostile("decompression-bomb", lambda v: [file("zeros", size=BOMB_BYTES)], "larger than"),
    Hostile("very-deep-path", lambda v: [file(f"{DEEP}/leaf")],
            None, lambda v: [(f"{DEEP}/leaf", "file")]),
    Hostile("deep-tree-replaced", lambda v: [file(f"{DEEP}/leaf"), file("d")],
            None, lambda v: [("d", "file")]),
    Hostile("name-over-path-max", lambda v: [file("a/" * 2100 + "x")], "longer than"),
    Hostile("component-over-name-max", lambda v: [file("n" * 300)], "too long"),
]
