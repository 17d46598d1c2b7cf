"""An eviction goes through the pod's worker, so nothing the eviction stops is started again.

The regression: the evictor stopped the sandbox itself, then posted Failed; in between the
PLEG woke the worker, whose pod still said Running, and it ran a new sandbox. Here the real
Evictor, PodManager and PodWorker run against a fake PodRuntime (which records every CRI
call) and fake API writers (which record patches); the watch that would bring the Failed
status back is delayed on purpose, and the worker is woken meanwhile as the PLEG would.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import nodelab.kubelet.pods.pod_sync as pod_sync_module
from nodelab.cri import api_pb2 as cri
from nodelab.kube.restclient import RestClient, RestConfig
from nodelab.kubelet.config import KubeletConfig
from nodelab.kubelet.eviction.evictor import Evictor
from nodelab.kubelet.pods.cri_plan import POD_UID
from nodelab.kubelet.pods.manager import PodManager
from nodelab.kubelet.pods.settings import PodSettings
from nodelab.kubelet.pods.status import Instance

pytestmark = pytest.mark.unit
UID = "0f0e0d0c-aaaa-bbbb-cccc-000000000001"
STARTS = ("run_sandbox", "create_container", "start_container", "pull", "apply_pod_cgroup")


class FakeRuntime:
    """One pod: sandbox s1 ready, container c1 running; every call is recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.sandbox_state = cri.SANDBOX_READY
        self.container_state = "running"
        self.network = SimpleNamespace(error=lambda: None)  # the pod network is ready

    def _note(self, name: str, arg: str = "") -> None:
        with self.lock:
            self.calls.append((name, arg))

    def sandboxes(self, uid: str) -> list[Any]:
        return [cri.PodSandbox(id="s1", state=self.sandbox_state, labels={POD_UID: uid},
                               metadata=cri.PodSandboxMetadata(attempt=0))]

    def all_sandboxes(self) -> list[Any]:
        return self.sandboxes(UID)

    def sandbox_ip(self, sandbox_id: str) -> str:
        return "10.244.0.5"

    def containers(self, uid: str) -> list[Instance]:
        return [Instance("c1", "app", 0, self.container_state, image="busybox",
                         started_at="2026-01-01T00:00:00Z")]

    def stop_container(self, container_id: str, timeout: int) -> None:
        self._note("stop_container", container_id)
        self.container_state = "exited"

    def stop_sandbox(self, sandbox_id: str) -> None:
        self._note("stop_sandbox", sandbox_id)
        self.sandbox_state = cri.SANDBOX_NOTREADY
        self.container_state = "exited"

    def image_ref(self, image: str) -> str | None:
        return "sha256:busybox"

    def __getattr__(self, name: str) -> Any:  # run_sandbox, create_container, pull, ...
        def call(*args: Any, **kwargs: Any) -> str:
            self._note(name)
            return f"new-{name}"
        return call


class Recorder:
    """The API writes of the worker and of the evictor, recording the patches they send."""

    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []

    def patch(self, kind: str, namespace: str, name: str, body: Any, **_: Any) -> None:
        self.patches.append(body)

    def create(self, *args: Any, **kwargs: Any) -> None:
        pass


def _pod(phase: str, version: str) -> dict[str, Any]:
    return {"metadata": {"name": "hog", "namespace": "default", "uid": UID,
                         "resourceVersion": version},
            "spec": {"nodeName": "n1", "restartPolicy": "Always",
                     "containers": [{"name": "app", "image": "busybox:1.36"}]},
            "status": {"phase": phase, "startTime": "2026-01-01T00:00:00Z"}}


def _wait(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


def test_an_evicted_pod_is_stopped_by_its_worker_and_never_started_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = FakeRuntime()
    # the pod cgroup is a host write the fake runtime cannot stand in for: record it instead
    monkeypatch.setattr(pod_sync_module, "apply_pod_cgroup",
                        lambda parent, limits: runtime._note("apply_pod_cgroup", parent))
    settings = PodSettings(node_name="n1", node_ip="10.0.0.2", state_dir=tmp_path,
                           log_root=tmp_path / "logs", memory_capacity=2**30, resync=0.02,
                           idle_resync=0.1)
    unused = RestClient(RestConfig("127.0.0.1", 1, None))  # the test feeds the pods itself
    manager = PodManager(unused, None, settings,
                         node=lambda: {"metadata": {"name": "n1"}})
    worker_rest, core = Recorder(), Recorder()
    manager.runtime = runtime  # type: ignore[assignment]
    manager.rest = worker_rest  # type: ignore[assignment]
    direct = SimpleNamespace(  # the CRI calls of an evictor stopping sandboxes itself
        list_pod_sandboxes=lambda labels=None: runtime.sandboxes(UID),
        stop_pod_sandbox=runtime.stop_sandbox)
    evictor = Evictor(core, direct, "n1", tmp_path,  # type: ignore[arg-type]
                      KubeletConfig())
    evictor.pods = manager
    try:
        manager._on_pods("pods", "LIST", [_pod("Running", "1")])
        worker = manager.workers[UID]
        worker_rest.patches.clear()
        assert _wait(lambda: worker.settled), "the running pod never settled"
        before = len(runtime.calls)
        posted = len(worker_rest.patches)

        evictor.evict(_pod("Running", "1"), "The node was low on resource: memory.",
                      "memory.available")
        assert _wait(lambda: ("stop_sandbox", "s1") in runtime.calls), \
            "the worker did not stop the evicted pod"
        for _ in range(5):  # the PLEG sees the sandbox stop; the watch has not caught up
            worker.wake()
            time.sleep(0.05)
        manager._on_pods("pods", "MODIFIED", _pod("Failed", "2"))
        time.sleep(0.3)
        worker.wake()
        time.sleep(0.1)

        after = runtime.calls[before:]
        assert not [c for c in after if c[0] in STARTS], f"started again: {after}"
        assert ("stop_container", "c1") in after
        assert [p["status"]["phase"] for p in core.patches] == ["Failed"]
        assert len(worker_rest.patches) == posted, "the worker posted over the Failed status"
        assert evictor.evicted == [("memory.available", "default/hog")]
    finally:
        manager.stop()
