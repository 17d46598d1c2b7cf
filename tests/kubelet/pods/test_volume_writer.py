"""The atomic writer's layout and the subPath resolver, on a real filesystem (no privileges)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nodelab.kubelet.pods.volumes.atomic_writer import (
    DATA_DIR,
    FileProjection,
    PayloadError,
    write_volume,
)
from nodelab.kubelet.pods.volumes.subpath import SubPathError, resolve

pytestmark = pytest.mark.unit


def test_layout_is_upstreams_timestamped_dir_and_data_symlink(tmp_path: Path) -> None:
    assert write_volume(tmp_path, {"a": FileProjection(b"1", 0o400),
                                   "dir/b": FileProjection(b"2", 0o644)})
    payload = os.readlink(tmp_path / DATA_DIR)
    assert payload.startswith("..") and (tmp_path / payload).is_dir()
    assert os.readlink(tmp_path / "a") == "..data/a"
    assert os.readlink(tmp_path / "dir") == "..data/dir"
    assert (tmp_path / "dir" / "b").read_bytes() == b"2"
    assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o400


def test_unchanged_payload_writes_nothing_and_updates_swap_whole(tmp_path: Path) -> None:
    write_volume(tmp_path, {"a": FileProjection(b"1"), "b": FileProjection(b"2")})
    first = os.readlink(tmp_path / DATA_DIR)
    assert not write_volume(tmp_path, {"a": FileProjection(b"1"), "b": FileProjection(b"2")})
    assert write_volume(tmp_path, {"a": FileProjection(b"new")})
    assert os.readlink(tmp_path / DATA_DIR) != first
    assert not (tmp_path / first).exists() and not os.path.lexists(tmp_path / "b")
    assert (tmp_path / "a").read_bytes() == b"new"


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "..data/x", "a/../../x", "..x"])
def test_payload_paths_that_leave_or_shadow_are_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(PayloadError):
        write_volume(tmp_path, {path: FileProjection(b"x")})
    assert not os.path.lexists(tmp_path / DATA_DIR)


def test_planted_links_are_replaced_never_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("host")
    victim.chmod(0o600)
    volume = tmp_path / "vol"
    volume.mkdir()
    (volume / DATA_DIR).symlink_to(tmp_path)  # as if a container had planted them
    (volume / "key").symlink_to(victim)
    write_volume(volume, {"key": FileProjection(b"pwned", 0o666), "victim": FileProjection(b"x")})
    assert victim.read_text() == "host" and stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert os.readlink(volume / DATA_DIR).startswith("..")


def make_tree(root: Path) -> Path:
    volume = root / "vol"
    (volume / "dir" / "sub").mkdir(parents=True)
    (volume / "inside").symlink_to("dir/sub")
    (volume / "up").symlink_to("dir/../dir")
    (volume / "abs").symlink_to("/")
    (volume / "climb").symlink_to("../../../..")
    (volume / "dir" / "climb").symlink_to("../..")
    (volume / "loop").symlink_to("loop")
    return volume


@pytest.mark.parametrize(("sub_path", "parts"), [
    ("dir/sub", ["dir", "sub"]), ("inside", ["dir", "sub"]), ("up/sub", ["dir", "sub"]),
    ("missing/new", ["missing", "new"])])
def test_subpath_resolves_links_that_stay_inside(tmp_path: Path, sub_path: str,
                                                 parts: list[str]) -> None:
    assert resolve(make_tree(tmp_path), sub_path, "v") == parts


@pytest.mark.parametrize("sub_path", ["abs", "abs/etc", "climb", "dir/climb", "loop",
                                      "../x", "/etc", "dir/../../x"])
def test_subpath_that_would_leave_is_refused(tmp_path: Path, sub_path: str) -> None:
    with pytest.raises(SubPathError, match="leave the volume"):
        resolve(make_tree(tmp_path), sub_path, "v")
