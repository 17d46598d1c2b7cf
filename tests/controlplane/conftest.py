"""Fixtures: one API server process per test module (fresh state), stopped by PID; `server`
has the module's CustomResourceDefinition (its `CRD` manifest) applied and established."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
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


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[RunningApiServer]:
    manifest: str = request.module.CRD
    name = yaml.safe_load(manifest)["metadata"]["name"]
    with running_apiserver() as running:
        running.kubectl("apply", "-f", "-", input=manifest)
        running.kubectl("wait", "--for", "condition=established", "--timeout=30s", f"crd/{name}")
        yield running
