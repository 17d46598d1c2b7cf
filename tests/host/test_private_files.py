"""Private files are 0600 from the moment they exist, whatever the umask; nothing is followed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from nodelab.host.private_files import private_dir, write_private, write_private_key

pytestmark = pytest.mark.unit


def test_created_0600_under_any_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = write_private(tmp_path / "key", b"secret")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_bytes() == b"secret"
    assert os.listdir(tmp_path) == ["key"]  # no temporary file left


def test_a_planted_link_is_replaced_not_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("host")
    (tmp_path / "kubeconfig").symlink_to(victim)
    write_private(tmp_path / "kubeconfig", "config")
    assert victim.read_text() == "host"
    assert not (tmp_path / "kubeconfig").is_symlink()


def test_private_dir_tightens_an_old_directory(tmp_path: Path) -> None:
    old = tmp_path / "lab"
    old.mkdir(mode=0o755)
    os.chmod(old, 0o755)
    assert stat.S_IMODE(private_dir(old).stat().st_mode) == 0o700


def test_a_private_key_is_written_as_traditional_pem_only_its_owner_reads(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    path = write_private_key(tmp_path / "k.key", key)
    assert path.read_bytes().startswith(b"-----BEGIN EC PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert loaded.private_numbers() == key.private_numbers()  # type: ignore[union-attr]
