"""/run/containerd/s, which containerd's shims make outside a lab: the last lab or test
containerd to leave removes it, one that was there before any stays (nodelab/lab/containerd/
host_files.py). Run on stand-in directories under tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodelab.lab.containerd import host_files
from nodelab.lab.containerd.host_files import host_dirs_before_start, how_made, remove_made_dirs

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("exists", "marked", "host", "expected"), [
    (False, False, False, "made"),
    (False, True, False, "made"),
    (False, False, True, "made"),  # the host's containerd did not make it either
    (True, True, False, "made"),  # a lab's or test's containerd made it
    (True, False, False, "existed"),  # the host's
    (True, True, True, "existed"),  # marked, but the host's containerd runs now
])
def test_how_made(exists: bool, marked: bool, host: bool, expected: str) -> None:
    assert how_made(exists, marked, host) == expected


@pytest.fixture
def socket_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "run" / "containerd" / "s"
    monkeypatch.setattr(host_files, "HOST_DIRS", (root.parent, root))
    monkeypatch.setattr(host_files, "MADE_MARKS", tmp_path / "marks")
    monkeypatch.setattr(host_files, "host_containerd_running", lambda: False)
    return root


def made(found: list[tuple[Path, str]]) -> list[Path]:
    return [path for path, how in found if how == "made"]


def test_two_containerds_at_once_the_last_to_leave_removes_the_socket_root(
        socket_root: Path) -> None:
    first = made(host_dirs_before_start())
    socket_root.mkdir(parents=True)  # the first one's shim makes it
    (socket_root / "a").touch()
    second = made(host_dirs_before_start())
    assert second == first == [socket_root.parent, socket_root]
    (socket_root / "b").touch()
    (socket_root / "a").unlink()
    remove_made_dirs(first)  # the second one's socket is still there
    assert socket_root.is_dir()
    (socket_root / "b").unlink()
    remove_made_dirs(second)
    assert not socket_root.parent.exists()


def test_a_socket_root_made_again_by_a_running_containerd_is_still_nodelabs(
        socket_root: Path) -> None:
    """The first one leaves while the second is between pods (the directory is empty), and
    the second one's next shim makes it again: a third that starts then must count it as
    made, or, the last to leave, it would leave it behind."""
    first = made(host_dirs_before_start())
    socket_root.mkdir(parents=True)
    second = made(host_dirs_before_start())
    remove_made_dirs(first)
    assert not socket_root.exists()
    socket_root.mkdir(parents=True)  # the second one's next shim
    third = made(host_dirs_before_start())
    assert third == [socket_root.parent, socket_root]
    remove_made_dirs(second)
    remove_made_dirs(third)
    assert not socket_root.parent.exists()


def test_a_socket_root_that_was_there_before_stays(socket_root: Path) -> None:
    socket_root.mkdir(parents=True)
    found = host_dirs_before_start()
    assert made(found) == []
    remove_made_dirs(made(found))
    assert socket_root.is_dir()
