"""hostPath `type` checks (pods/volumes/host_path.py), upstream's checkTypeInternal table
(pkg/volume/hostpath/host_path_test.go TestHostPathTypeCheckerInternal), and the setup on a
real directory."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from nodelab.kubelet.pods.volumes.host_path import (
    HostPathError,
    TypeCheck,
    check_type,
    set_up_host_path,
)
from nodelab.kubelet.pods.volumes.pod_volumes import set_up_failed

pytestmark = pytest.mark.unit

DIR, FILE, SOCK = stat.S_IFDIR | 0o755, stat.S_IFREG | 0o644, stat.S_IFSOCK | 0o755
CHAR, BLOCK = stat.S_IFCHR | 0o666, stat.S_IFBLK | 0o660


def failed(what: str) -> TypeCheck:
    return TypeCheck(error=f"hostPath type check failed: /p is not {what}")


@pytest.mark.parametrize(("path_type", "mode", "expected"), [
    ("", None, TypeCheck()), ("", FILE, TypeCheck()),
    ("DirectoryOrCreate", None, TypeCheck(make="directory")),
    ("DirectoryOrCreate", DIR, TypeCheck()),
    ("DirectoryOrCreate", FILE, failed("a directory")),
    ("Directory", DIR, TypeCheck()), ("Directory", None, failed("a directory")),
    ("Directory", SOCK, failed("a directory")),
    ("FileOrCreate", None, TypeCheck(make="file")), ("FileOrCreate", FILE, TypeCheck()),
    ("FileOrCreate", DIR, failed("a file")),
    ("File", FILE, TypeCheck()), ("File", None, failed("a file")), ("File", DIR, failed("a file")),
    ("Socket", SOCK, TypeCheck()), ("Socket", FILE, failed("a socket file")),
    ("CharDevice", CHAR, TypeCheck()), ("CharDevice", BLOCK, failed("a character device")),
    ("BlockDevice", BLOCK, TypeCheck()), ("BlockDevice", CHAR, failed("a block device")),
    ("Pipe", FILE, TypeCheck(error="Pipe is an invalid volume type")),
])
def test_check_type(path_type: str, mode: int | None, expected: TypeCheck) -> None:
    assert check_type("/p", path_type, mode) == expected


def test_set_up_makes_what_the_or_create_types_ask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        made = set_up_host_path({"path": str(tmp_path / "a" / "b"), "type": "DirectoryOrCreate"})
        assert made.is_dir() and made.stat().st_mode & 0o777 == 0o755
        touched = set_up_host_path({"path": str(tmp_path / "a" / "f"), "type": "FileOrCreate"})
        assert touched.is_file() and touched.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)
    # upstream's OpenFile makes no parent directories; Go's wording of the error
    with pytest.raises(HostPathError, match=r"^open .*/none/f: no such file or directory$"):
        set_up_host_path({"path": str(tmp_path / "none" / "f"), "type": "FileOrCreate"})
    with pytest.raises(HostPathError, match="is not a directory"):
        set_up_host_path({"path": str(touched), "type": "Directory"})
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "s.sock"))
        assert set_up_host_path({"path": str(tmp_path / "s.sock"), "type": "Socket"})
    finally:
        server.close()
    assert set_up_host_path({"path": "/dev/null", "type": "CharDevice"}) == Path("/dev/null")


def test_failed_mount_messages_read_as_upstreams() -> None:
    assert set_up_failed("data", HostPathError(
        "hostPath type check failed: /srv is not a directory")) == (
        'MountVolume.SetUp failed for volume "data" : hostPath type check failed: /srv is not '
        "a directory")
