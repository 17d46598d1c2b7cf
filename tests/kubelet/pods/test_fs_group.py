"""fsGroup ownership of volumes: upstream's masks, setgid directories and OnRootMismatch."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nodelab.kubelet.pods.volumes.fs_group import apply_ownership, needs_change, new_mode

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("mode", "readonly", "expected"), [
    (stat.S_IFREG | 0o644, False, 0o664),
    (stat.S_IFREG | 0o600, True, 0o640),
    (stat.S_IFREG | 0o400, True, 0o440),
    (stat.S_IFDIR | 0o755, False, 0o2775),
    (stat.S_IFDIR | 0o700, True, 0o2750),
])
def test_modes(mode: int, readonly: bool, expected: int) -> None:
    assert new_mode(mode, readonly) == expected


def fake_stat(mode: int, gid: int) -> os.stat_result:
    return os.stat_result((mode, 0, 0, 1, 0, gid, 0, 0, 0, 0))


@pytest.mark.parametrize(("mode", "gid", "readonly", "expected"), [
    (stat.S_IFDIR | 0o2775, 2000, False, False),
    (stat.S_IFDIR | 0o2775, 1999, False, True),   # another group
    (stat.S_IFDIR | 0o775, 2000, False, True),    # no setgid
    (stat.S_IFDIR | 0o2755, 2000, False, True),   # the group cannot write
    (stat.S_IFDIR | 0o2750, 2000, True, False),   # read-only volumes need r-x only
    (stat.S_IFREG | 0o2775, 2000, False, True),   # not a directory
])
def test_on_root_mismatch(mode: int, gid: int, readonly: bool, expected: bool) -> None:
    assert needs_change(fake_stat(mode, gid), 2000, readonly) is expected


def test_apply_walks_files_and_directories(tmp_path: Path) -> None:
    group = os.getgid()
    (tmp_path / "sub").mkdir(mode=0o700)
    (tmp_path / "sub" / "f").write_text("x")
    os.chmod(tmp_path / "sub" / "f", 0o600)
    (tmp_path / "link").symlink_to("sub/f")
    apply_ownership(tmp_path, group, readonly=False)
    assert stat.S_IMODE(os.stat(tmp_path / "sub").st_mode) == 0o2770
    assert stat.S_IMODE(os.stat(tmp_path / "sub" / "f").st_mode) == 0o660
    assert os.lstat(tmp_path / "link").st_gid == group
    os.chmod(tmp_path / "sub" / "f", 0o600)  # OnRootMismatch: the root is right, no walk
    apply_ownership(tmp_path, group, readonly=False, policy="OnRootMismatch")
    assert stat.S_IMODE(os.stat(tmp_path / "sub" / "f").st_mode) == 0o600
