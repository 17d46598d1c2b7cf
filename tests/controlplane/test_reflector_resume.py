"""nodelab's reflector resumes a broken watch from the last resourceVersion it handled (as
client-go's lastSyncResourceVersion), not from where the broken watch started: after an API
server restart nothing is delivered twice, and nothing is missed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from nodelab.kube.reflector import Reflector
from tests.controlplane.apiserver import RunningApiServer, running_apiserver
from tests.lab.kube import eventually

pytestmark = pytest.mark.slow


@pytest.fixture()
def server() -> Iterator[RunningApiServer]:
    with running_apiserver() as running:
        yield running


def _cm(name: str) -> k8s.V1ConfigMap:
    return k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=name), data={"v": "1"})


def test_a_broken_watch_resumes_after_what_was_handled(server: RunningApiServer) -> None:
    core = k8s.CoreV1Api(server.client())
    events: list[tuple[str, str]] = []
    lock = threading.Lock()

    def handle(_kind: str, event: str, payload: Any) -> None:
        if event != "LIST":
            with lock:
                events.append((event, payload["metadata"]["name"]))

    reflector = Reflector("configmaps", core.list_namespaced_config_map, handle,
                          namespace="default").start()
    try:
        assert reflector.synced.wait(30)
        for name in ("a", "b"):
            core.create_namespaced_config_map("default", _cm(name))
        eventually(lambda: {n for _e, n in events} >= {"a", "b"}, 30, 0.05)
        server.restart()  # the watch stream breaks; the reflector watches again
        core = k8s.CoreV1Api(server.client())
        core.create_namespaced_config_map("default", _cm("c"))
        eventually(lambda: ("ADDED", "c") in events, 60, 0.05)
    finally:
        reflector.stop()
    assert events == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c")]
