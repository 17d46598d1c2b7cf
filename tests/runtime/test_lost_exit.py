"""When a container whose monitor was killed counts as ended, so its exit is recorded (255).

Only runc's `stopped`, or its state gone, count: a `runc state` failing for a moment under
load, `paused` or `created` (the process may still run) recorded a lost exit for a live one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nodelab.host.commands import CommandError
from nodelab.runtime import lost_exit
from nodelab.runtime.monitor import MonitorPaths, read_exit

pytestmark = pytest.mark.unit

CID = "4f1c" * 16
NOT_EXIST = 'time="2026-12-04T03:08:42Z" level=error msg="container does not exist"\n'


@pytest.mark.parametrize(("stdout", "status"), [
    (json.dumps({"id": CID, "status": "running", "pid": 42}), "running"),
    (json.dumps({"id": CID, "status": "stopped", "pid": 0}), "stopped"),
    (json.dumps({"id": CID, "status": "paused"}), "paused"),
    (json.dumps({"id": CID}), lost_exit.UNKNOWN),
    (json.dumps({"id": CID, "status": ""}), lost_exit.UNKNOWN),
    ("[]", lost_exit.UNKNOWN),
    ("", lost_exit.UNKNOWN),  # cut short
])
def test_runc_state_output(stdout: str, status: str) -> None:
    assert lost_exit.status_of(stdout) == status


@pytest.mark.parametrize(("stderr", "status"), [
    (NOT_EXIST, lost_exit.GONE),
    ('level=error msg="open /run/runc/x/state.json: too many open files"', lost_exit.UNKNOWN),
    ("", lost_exit.UNKNOWN),  # killed by its timeout
])
def test_runc_state_failure(stderr: str, status: str) -> None:
    assert lost_exit.status_of_failure(stderr) == status


@pytest.mark.parametrize(("status", "ended"), [
    ("stopped", True),
    (lost_exit.GONE, True),
    ("running", False),
    ("paused", False),  # frozen, alive
    ("created", False),  # its init waits for `runc start`, alive
    ("creating", False),
    (lost_exit.UNKNOWN, False),  # ask again
])
def test_which_status_means_ended(status: str, ended: bool) -> None:
    assert lost_exit.ended(status) is ended


def runc_answering(stdout: str = "", stderr: str | None = None) -> lost_exit.Runc:
    def runc(*args: str) -> str:
        assert args == ("state", CID)
        if stderr is not None:
            raise CommandError(("runc", *args), 1, "", stderr)
        return stdout
    return runc


@pytest.mark.parametrize(("runc", "recorded"), [
    (runc_answering(json.dumps({"status": "stopped"})), True),
    (runc_answering(stderr=NOT_EXIST), True),
    (runc_answering(stderr="level=error msg=\"resource temporarily unavailable\""), False),
    (runc_answering(json.dumps({"status": "paused"})), False),
    (runc_answering(json.dumps({"status": "created"})), False),
    (runc_answering(json.dumps({"status": "running"})), False),
])
def test_a_lost_exit_is_recorded_only_once_runc_says_it_ended(
        tmp_path: Path, runc: lost_exit.Runc, recorded: bool) -> None:
    paths = MonitorPaths(bundle=tmp_path, exit_dir=tmp_path / "exits",
                         socket_dir=tmp_path / "sockets", container_id=CID)  # no monitor
    paths.exit_dir.mkdir()
    assert lost_exit.settle(runc, CID, paths) is recorded
    exit_status = read_exit(paths)
    assert (exit_status.code if exit_status else None) == (255 if recorded else None)


def test_no_exit_is_recorded_for_a_container_removed_meanwhile(tmp_path: Path) -> None:
    """RemoveContainer took its bundle and exit file between the watcher's look and runc's
    answer: nothing comes back for a container no record names."""
    paths = MonitorPaths(bundle=tmp_path / "containers" / CID, exit_dir=tmp_path / "exits",
                         socket_dir=tmp_path / "sockets", container_id=CID)
    paths.exit_dir.mkdir()
    assert lost_exit.settle(runc_answering(stderr=NOT_EXIST), CID, paths) is True
    assert not paths.bundle.exists() and read_exit(paths) is None
