"""Layer unpacking: whiteouts, opaque dirs, path-escape rejection, diff IDs."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from nodelab.runtime.images.layers import LayerEscape, chain_ids, safe_member_path, unpack_layer

from .privileges import need_root


def make_tar(*members: tuple[str, str, str]) -> bytes:
    """members: (kind, name, data-or-linkname)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for kind, name, data in members:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            elif kind == "sym":
                info.type = tarfile.SYMTYPE
                info.linkname = data
                tar.addfile(info)
            elif kind == "hard":
                info.type = tarfile.LNKTYPE
                info.linkname = data
                tar.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data.encode()))
    return raw.getvalue()


@pytest.mark.unit
def test_chain_ids_follow_the_oci_formula() -> None:
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    expected = "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
    assert chain_ids([a, b]) == [a, expected]


@pytest.mark.unit
@pytest.mark.parametrize("name", ["../etc/passwd", "a/../../b", "./x/../../y"])
def test_dotdot_names_are_rejected(name: str) -> None:
    with pytest.raises(LayerEscape, match="leave its root"):
        safe_member_path(name)


@pytest.mark.unit
def test_absolute_names_are_made_relative() -> None:
    assert str(safe_member_path("/etc/passwd")) == "etc/passwd"


@pytest.mark.unit
def test_unpack_returns_the_diff_id_and_writes_files(tmp_path: Path) -> None:
    data = make_tar(("dir", "etc", ""), ("file", "etc/hello", "hi\n"), ("sym", "bin", "/usr/bin"))
    diff_id = unpack_layer(io.BytesIO(data), tmp_path / "fs")
    assert diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert (tmp_path / "fs/etc/hello").read_text() == "hi\n"
    assert os.readlink(tmp_path / "fs/bin") == "/usr/bin"


@pytest.mark.unit
def test_writing_through_a_symlink_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    data = make_tar(("sym", "link", str(outside)), ("file", "link/pwned", "x"))
    with pytest.raises(LayerEscape, match="symbolic link"):
        unpack_layer(io.BytesIO(data), tmp_path / "fs")
    assert not (outside / "pwned").exists()


@pytest.mark.unit
@pytest.mark.parametrize("target", ["/etc/passwd", "../../etc/passwd"])
def test_escaping_hard_links_are_refused(tmp_path: Path, target: str) -> None:
    data = make_tar(("hard", "x", target))
    with pytest.raises(LayerEscape):
        unpack_layer(io.BytesIO(data), tmp_path / "fs")


@pytest.mark.privileged
def test_whiteouts_and_opaque_dirs_become_overlay_markers(tmp_path: Path) -> None:
    need_root()
    lower = tmp_path / "l1"
    upper = tmp_path / "l2"
    unpack_layer(io.BytesIO(make_tar(
        ("file", "etc/a", "a"), ("file", "etc/b", "b"), ("file", "d/x", "x"))), lower)
    unpack_layer(io.BytesIO(make_tar(
        ("file", "etc/.wh.a", ""), ("file", "d/.wh..wh..opq", ""), ("file", "d/y", "y"))), upper)
    whiteout = os.lstat(upper / "etc/a")
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == 0
    assert os.getxattr(upper / "d", "trusted.overlay.opaque") == b"y"
    merged = tmp_path / "merged"
    merged.mkdir()
    os.system(f"mount -t overlay overlay -o lowerdir={upper}:{lower} {merged}")
    try:
        assert sorted(os.listdir(merged / "etc")) == ["b"]
        assert sorted(os.listdir(merged / "d")) == ["y"]
    finally:
        os.system(f"umount {merged}")
