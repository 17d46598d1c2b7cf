"""Fixtures: one API server process per test module (fresh state), stopped by PID."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s

from tests.controlplane.apiserver import RunningApiServer


@pytest.fixture(scope="module")
def apiserver() -> Iterator[RunningApiServer]:
    with tempfile.TemporaryDirectory(prefix="nlcp-") as state:
        server = RunningApiServer(Path(state))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def core(apiserver: RunningApiServer) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(apiserver.client())


@pytest.fixture(scope="module")
def apps(apiserver: RunningApiServer) -> k8s.AppsV1Api:
    return k8s.AppsV1Api(apiserver.client())
