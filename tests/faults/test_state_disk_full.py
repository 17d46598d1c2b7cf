"""The state filesystem full: clear errors that say what to do, nothing torn or lost.

The test mounts a small tmpfs (removed at the end) as the lab's state base, brings a lab up
on it, then fills it to the last byte. While it is full: `up` again, a daemon restart through
the supervisor and an API write fail with errors that name the full filesystem; the lab keeps
running what it runs. Once space is freed, every state file still parses (the ledger, the
description, units, states, pidfiles), no API object is lost, `up` completes, a new pod runs,
and `down` leaves nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s

from nodelab.errors import NodelabError
from nodelab.host.private_files import write_private
from nodelab.lab.lab import Lab, take_down_lab
from nodelab.lab.ledger import Ledger
from tests.conftest import needs_root, unique_lab_name
from tests.faults.invariants import core_api, ready
from tests.lab.kube import eventually, kubectl
from tests.lab.test_lifecycle import lab_residue

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]

SIZE = "64m"


@pytest.fixture
def small_state_fs() -> Iterator[Path]:
    point = Path(tempfile.mkdtemp(prefix="nlt-full-", dir="/tmp"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0755", "tmpfs",
                    str(point)], check=True)
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)
        point.rmdir()


def fill(base: Path) -> Path:
    """Take every free byte of the filesystem of `base` (a file of zeros, written until
    ENOSPC); the file is removed to free the space again."""
    filler = base / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                continue
    finally:
        os.close(fd)
    return filler


def state_files(lab: Lab) -> dict[str, object]:
    """Every JSON state file of the lab, parsed (a torn one fails here)."""
    parsed: dict[str, object] = {"lab.json": json.loads(lab.paths.description.read_text())}
    for path in sorted(lab.paths.run.glob("*.json")) + sorted(lab.paths.run.glob("*.pid")):
        parsed[path.name] = json.loads(path.read_text())
    return parsed


def test_a_full_state_filesystem_is_a_clear_error_and_corrupts_nothing(
        small_state_fs: Path) -> None:
    name = unique_lab_name()
    try:
        lab = Lab.up(name, base=small_state_fs, progress=lambda _m: None)
        kubectl(lab, "run", "before", f"--image={lab.images.ref('busybox')}", "--",
                "sleep", "3600")
        api = core_api(lab)
        eventually(lambda: ready(api.api_client.sanitize_for_serialization(
            api.read_namespaced_pod("before", "default"))), 60)
        ledger = Ledger(lab.paths.ledger).entries()
        filler = fill(small_state_fs)

        with pytest.raises(NodelabError, match="filesystem is full") as raised:
            Lab.up(name, base=small_state_fs, progress=lambda _m: None)
        assert "free space" in str(raised.value)
        with pytest.raises(NodelabError, match="filesystem is full"):
            lab.restart_daemon("proxy", node="node1")
        with pytest.raises(k8s.ApiException) as refused:
            api.create_namespaced_config_map("default", {"metadata": {"name": "full"}})
        assert refused.value.status in (500, 507)
        assert "full" in str(refused.value.body)
        status = lab.status()
        assert status.healthy, f"what runs keeps running:\n{status.render()}"

        filler.unlink()
        files = state_files(lab)
        assert Ledger(lab.paths.ledger).entries()[:len(ledger)] == ledger
        Lab.up(name, base=small_state_fs, progress=lambda _m: None)
        status = lab.status()
        assert status.healthy, status.render()
        assert state_files(lab).keys() == files.keys()
        assert {p.metadata.name for p in api.list_namespaced_pod("default").items} == {"before"}
        kubectl(lab, "run", "after", f"--image={lab.images.ref('busybox')}", "--",
                "sleep", "3600")
        eventually(lambda: ready(api.api_client.sanitize_for_serialization(
            api.read_namespaced_pod("after", "default"))), 60)
    finally:
        take_down_lab(name, small_state_fs)
    assert lab_residue(lab) == set()


def test_a_private_file_on_a_full_filesystem_is_the_clear_error_and_keeps_the_old_one(
        small_state_fs: Path) -> None:
    """A kubeconfig, key or token is written by write_private: on a full state filesystem
    `up` met it first in one run of three (its daemons' logs take the last pages at their own
    pace), and it raised the bare OSError."""
    target = write_private(small_state_fs / "kubeconfig", "old\n")
    filler = fill(small_state_fs)
    try:
        with pytest.raises(NodelabError, match="filesystem is full") as raised:
            write_private(target, "new\n" * 100_000)
        assert "free space" in str(raised.value)
        assert target.read_text() == "old\n"
        assert sorted(p.name for p in small_state_fs.iterdir()) == ["filler", "kubeconfig"]
    finally:
        filler.unlink()
