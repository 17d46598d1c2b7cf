"""The pod manager's dispatching and its PLEG thread, on a fake CRI client.

The CRI client is the one fake: it answers ListPodSandbox/ListContainers from lists the test
sets, and fails the calls the test tells it to fail. Workers are stand-ins that count wakes;
the manager, its store, its index and its PLEG thread are the real ones (nothing is started
against an API server: the reflector is never started, events are fed to `_on_pods`).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from nodelab.cri import api_pb2 as cri
from nodelab.kube.restclient import RestClient, RestConfig
from nodelab.kubelet.cri import CRIError
from nodelab.kubelet.pods.cri_plan import POD_UID
from nodelab.kubelet.pods.manager import PodManager
from nodelab.kubelet.pods.settings import PodSettings

pytestmark = pytest.mark.unit


class FakeCRI:
    def __init__(self) -> None:
        self.sandboxes: list[Any] = []
        self.containers: list[Any] = []
        self.failures: list[Exception] = []  # raised by the next calls, one each

    def list_pod_sandboxes(self, labels: dict[str, str] | None = None) -> list[Any]:
        if self.failures:
            raise self.failures.pop(0)
        return [s for s in self.sandboxes
                if not labels or all(s.labels.get(k) == v for k, v in labels.items())]

    def list_containers(self) -> list[Any]:
        return list(self.containers)


class CountingWorker:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1

    def stop(self) -> None:
        self.done.set()


def _manager(tmp_path: Path, fake: FakeCRI) -> PodManager:
    settings = PodSettings(node_name="n1", node_ip="127.0.0.1", state_dir=tmp_path,
                           log_root=tmp_path, memory_capacity=2**30, resync=0.02)
    unused = RestClient(RestConfig("127.0.0.1", 1, None))  # the tests feed the pods themselves
    return PodManager(unused, fake, settings,  # type: ignore[arg-type]
                      node=lambda: {"metadata": {"name": "n1"}})


def _sandbox(uid: str, state: cri.PodSandboxState = cri.SANDBOX_READY) -> Any:
    return cri.PodSandbox(id=f"sb-{uid}", state=state, labels={POD_UID: uid})


def _pod(uid: str, name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default", "uid": uid,
                         "resourceVersion": "1"}, "spec": {"nodeName": "n1"}}


def _wait(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())


def test_an_event_wakes_only_the_worker_of_its_pod(tmp_path: Path) -> None:
    manager = _manager(tmp_path, FakeCRI())
    a, b = CountingWorker(), CountingWorker()
    manager.workers.update({"ua": a, "ub": b})  # type: ignore[dict-item]
    manager._on_pods("pods", "LIST", [_pod("ua", "a"), _pod("ub", "b")])
    assert (a.wakes, b.wakes) == (1, 1)  # a list wakes every worker
    manager._on_pods("pods", "MODIFIED", {**_pod("ua", "a"),
                                          "metadata": {**_pod("ua", "a")["metadata"],
                                                       "resourceVersion": "2"}})
    assert (a.wakes, b.wakes) == (2, 1)
    assert manager.lookup("ua")["metadata"]["resourceVersion"] == "2"
    manager._on_pods("pods", "DELETED", _pod("ub", "b"))
    assert (a.wakes, b.wakes) == (2, 2)  # the deleted pod's worker wakes to tear it down
    assert manager.lookup("ub") is None


def test_lookup_follows_a_pod_recreated_under_the_same_name(tmp_path: Path) -> None:
    manager = _manager(tmp_path, FakeCRI())
    manager.workers.update({"old": CountingWorker(), "new": CountingWorker()})  # type: ignore
    manager._on_pods("pods", "LIST", [_pod("old", "p")])
    manager._on_pods("pods", "DELETED", _pod("old", "p"))
    manager._on_pods("pods", "ADDED", _pod("new", "p"))
    assert manager.lookup("old") is None
    assert manager.lookup("new")["metadata"]["uid"] == "new"


def test_the_pleg_survives_failing_relists_says_so_and_wakes_again(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeCRI()
    fake.sandboxes = [_sandbox("ua"), _sandbox("ub")]
    manager = _manager(tmp_path, fake)
    a, b = CountingWorker(), CountingWorker()
    manager.workers.update({"ua": a, "ub": b})  # type: ignore[dict-item]
    caplog.set_level(logging.INFO, logger="nodelab.kubelet.pods")
    thread = threading.Thread(target=manager._relist, daemon=True)
    thread.start()
    try:
        assert _wait(lambda: a.wakes == 1 and b.wakes == 1)  # the first relist sees both
        # a CRI error and a bug-like error: neither may end the thread
        fake.failures = [CRIError("runtime restarting"), AttributeError("no such field"),
                         CRIError("still restarting")]
        assert _wait(lambda: not fake.failures)
        fake.sandboxes = [_sandbox("ua", cri.SANDBOX_NOTREADY), _sandbox("ub")]
        assert _wait(lambda: a.wakes == 2), "the PLEG stopped waking workers after failures"
        time.sleep(0.1)
        assert b.wakes == 1  # unchanged pod: not woken
        assert thread.is_alive()
    finally:
        manager._stopping.set()
        thread.join(5)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "PLEG relist failed" in warnings[0].getMessage()
    assert any(r.levelno == logging.INFO and "works again" in r.getMessage()
               for r in caplog.records)
