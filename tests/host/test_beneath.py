"""Opening beneath a root: openat2 and the O_NOFOLLOW walk refuse the same escapes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodelab.host import beneath
from nodelab.host.beneath import (
    DIR_FLAGS,
    PathEscape,
    components,
    open_beneath,
    open_dir,
    remove_tree,
)


@pytest.fixture(params=["openat2", "walk"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "openat2" and not beneath.openat2_available():
        pytest.skip("this kernel has no openat2 (Linux < 5.6)")
    monkeypatch.setattr(beneath, "_openat2_works", request.param == "openat2")
    yield request.param


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "a" / "b").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret").write_text("s")
    (root / "out").symlink_to(outside)
    (root / "a" / "rel").symlink_to("../../outside")
    (root / "file").symlink_to(outside / "secret")
    return root, outside


@pytest.mark.unit
@pytest.mark.parametrize(("path", "parts"), [("a/b", ["a", "b"]), ("./a//b/.", ["a", "b"]),
                                             ("", []), (".", [])])
def test_components_of_relative_paths(path: str, parts: list[str]) -> None:
    assert components(path) == parts


@pytest.mark.unit
@pytest.mark.parametrize("path", ["../x", "a/../../x", "a/..", "/etc", "a\0b"])
def test_components_refuse_escapes(path: str) -> None:
    with pytest.raises(PathEscape):
        components(path)


@pytest.mark.unit
@pytest.mark.parametrize("path", ["out", "out/secret", "a/rel", "a/rel/secret", "file"])
def test_symlinks_on_the_way_are_refused(mode: str, tree: tuple[Path, Path], path: str) -> None:
    root, outside = tree
    root_fd = os.open(root, DIR_FLAGS)
    try:
        with pytest.raises(PathEscape, match="symbolic link"):
            open_dir(root_fd, components(path), create=True)
        with pytest.raises(PathEscape, match="symbolic link"):
            os.close(open_beneath(root_fd, components(path), os.O_WRONLY | os.O_CREAT))
    finally:
        os.close(root_fd)
    assert sorted(os.listdir(outside)) == ["secret"]
    assert (outside / "secret").read_text() == "s"


@pytest.mark.unit
def test_missing_directories_are_made_beneath(mode: str, tree: tuple[Path, Path]) -> None:
    root, _ = tree
    root_fd = os.open(root, DIR_FLAGS)
    try:
        os.close(open_dir(root_fd, ["a", "b", "c", "d"], create=True))
        fd = open_beneath(root_fd, ["a", "b", "c", "d", "f"], os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        os.close(fd)
    finally:
        os.close(root_fd)
    assert (root / "a/b/c/d/f").is_file()


@pytest.mark.unit
def test_remove_tree_is_not_limited_by_recursion(tmp_path: Path) -> None:
    deep = tmp_path / "deep"
    fd = os.open(tmp_path, DIR_FLAGS)
    try:
        os.close(open_dir(fd, ["deep"] + ["d"] * 1500, create=True))
    finally:
        os.close(fd)
    remove_tree(deep)
    assert not deep.exists()


@pytest.mark.unit
def test_existing_files_open_for_reading(mode: str, tree: tuple[Path, Path]) -> None:
    root, _ = tree
    (root / "a" / "b" / "f").write_text("x")
    root_fd = os.open(root, DIR_FLAGS)
    try:
        fd = open_beneath(root_fd, ["a", "b", "f"], os.O_RDONLY)
        assert os.read(fd, 1) == b"x"
        os.close(fd)
    finally:
        os.close(root_fd)
