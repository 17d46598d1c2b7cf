"""Fixtures: one API server process per test module (fresh state), stopped by PID."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client as k8s

from tests.controlplane.apiserver import RunningApiServer, running_apiserver


@pytest.fixture(scope="module")
def apiserver() -> Iterator[RunningApiServer]:
    with running_apiserver() as server:
        yield server


@pytest.fixture(scope="module")
def core(apiserver: RunningApiServer) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(apiserver.client())


@pytest.fixture(scope="module")
def apps(apiserver: RunningApiServer) -> k8s.AppsV1Api:
    return k8s.AppsV1Api(apiserver.client())
