"""The controlplane process itself: the flags the lab uses, and SIGTERM."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest

from tests.controlplane.apiserver import RunningApiServer

pytestmark = pytest.mark.slow


def test_controllers_flag_runs_scheduler_and_controllers() -> None:
    with tempfile.TemporaryDirectory(prefix="nlcp-") as state:
        server = RunningApiServer(Path(state), extra_args=("--controllers",))
        server.start()
        try:
            server.kubectl("create", "deployment", "x", "--image=busybox", "--replicas=2")
            deadline = time.monotonic() + 20
            pods: list[object] = []
            while time.monotonic() < deadline and len(pods) < 2:
                pods = server.kubectl_json("get", "pods", "-l", "app=x")["items"]
                time.sleep(0.3)
            assert len(pods) == 2
        finally:
            server.stop()
        assert server.process is None


def test_sigterm_stops_and_state_survives() -> None:
    with tempfile.TemporaryDirectory(prefix="nlcp-") as state:
        server = RunningApiServer(Path(state))
        server.start()
        try:
            server.kubectl("create", "configmap", "kept", "--from-literal=a=b")
            process = server.process
            assert process is not None
            server.stop()
            assert process.returncode == 0
            server.start()
            assert server.kubectl_json("get", "configmap", "kept")["data"] == {"a": "b"}
            assert "listening" in server.log_tail()
        finally:
            server.stop()
