"""`nodelab join` and `nodelab kind` errors a user can act on (no lab is made)."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nodelab.controlplane.auth.pki import ensure_pki
from tests.conftest import unique_lab_name


def nodelab(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nodelab", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


def test_missing_kubeconfig_says_what_to_pass(tmp_path: Path) -> None:
    result = nodelab("join", "--kubeconfig", str(tmp_path / "nope"), "--name",
                     unique_lab_name(), env={"NODELAB_STATE_DIR": str(tmp_path / "state")})
    assert result.returncode == 1
    assert "does not exist" in result.stderr and "kind get kubeconfig" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state").exists() or not any((tmp_path / "state").iterdir())


def test_unreachable_server_fails_before_anything_is_made(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki", ["127.0.0.1"])
    server = f"https://127.0.0.1:{closed_port()}"
    kubeconfig = tmp_path / "k"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {
            "server": server,
            "certificate-authority-data": base64.b64encode(pki.ca_cert.read_bytes()).decode()}}],
        "users": [{"name": "u", "user": {"token": "x"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))
    name = unique_lab_name()
    result = nodelab("join", "--kubeconfig", str(kubeconfig), "--name", name,
                     env={"NODELAB_STATE_DIR": str(tmp_path / "state")})
    assert result.returncode == 1
    assert f"cannot reach the API server {server}" in result.stderr
    assert "is the cluster running" in result.stderr
    assert not (tmp_path / "state" / name / "lab.json").exists()


def test_kubeconfig_without_current_context(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "k"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    result = nodelab("join", "--kubeconfig", str(kubeconfig),
                     env={"NODELAB_STATE_DIR": str(tmp_path / "state")})
    assert result.returncode == 1 and "no current-context" in result.stderr


@pytest.mark.skipif(shutil.which("kind") is not None, reason="kind is installed here")
def test_kind_up_without_kind_says_what_to_install() -> None:
    result = nodelab("kind", "up", "--name", unique_lab_name())
    assert result.returncode == 1
    assert "kind is not installed" in result.stderr and "kind.sigs.k8s.io" in result.stderr


def _docker_engine() -> bool:
    if shutil.which("docker") is None or shutil.which("kind") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _docker_engine(), reason="no Docker engine: kind tests need one")
def test_kind_up_and_down() -> None:
    name = unique_lab_name()
    try:
        up = nodelab("kind", "up", "--name", name)
        assert up.returncode == 0, up.stderr
        assert "joined" in up.stdout
    finally:
        nodelab("kind", "down", "--name", name)
