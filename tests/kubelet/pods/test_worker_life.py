"""The worker carries the life out: a finished, past-deadline or deleted pod is killed and,
once deleted, removed. The real PodWorker runs one sync at a time against the recording fake
runtime of test_eviction_worker (no thread)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nodelab.kubelet.pods.lifecycle import Stage
from nodelab.kubelet.pods.settings import PodSettings
from nodelab.kubelet.pods.volumes.pod_volumes import VolumeSources
from nodelab.kubelet.pods.worker import PodWorker
from tests.kubelet.pods.test_eviction_worker import UID, FakeRuntime, Recorder, _pod

pytestmark = pytest.mark.unit


class Rest(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.deleted: list[dict[str, Any]] = []

    def delete(self, kind: str, namespace: str, name: str, body: Any) -> None:
        self.deleted.append(body)


def _worker(tmp_path: Path) -> tuple[PodWorker, FakeRuntime, Rest]:
    runtime, rest = FakeRuntime(), Rest()
    settings = PodSettings(node_name="n1", node_ip="10.0.0.2", state_dir=tmp_path,
                           log_root=tmp_path / "logs", memory_capacity=2**30)
    sources = VolumeSources(fetch=lambda *a: None, token=lambda *a: "")
    worker = PodWorker(UID, lambda uid: None, runtime, rest,  # type: ignore[arg-type]
                       settings, sources)
    return worker, runtime, rest


def test_a_finished_pod_is_killed_and_kept_until_deleted(tmp_path: Path) -> None:
    worker, runtime, rest = _worker(tmp_path)
    worker.sync(_pod("Succeeded", "3"))
    assert worker.life.stage is Stage.TERMINATED and worker.settled
    assert runtime.calls == [("stop_container", "c1"), ("stop_sandbox", "s1")]
    assert not rest.patches and not worker.done.is_set()  # its status stays as posted

    deleting = _pod("Succeeded", "4")
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    worker.sync(deleting)
    assert ("remove_container", "") in runtime.calls and ("remove_sandbox", "") in runtime.calls
    assert rest.deleted == [{"kind": "DeleteOptions", "apiVersion": "v1",
                             "gracePeriodSeconds": 0, "preconditions": {"uid": UID}}]
    assert worker.done.is_set() and worker.life.finished


def test_a_pod_past_its_deadline_fails_and_is_killed(tmp_path: Path) -> None:
    worker, runtime, rest = _worker(tmp_path)
    pod = _pod("Running", "3")
    pod["spec"]["activeDeadlineSeconds"] = 5  # started 2026-01-01: long past
    worker.sync(pod)
    assert [p["status"]["reason"] for p in rest.patches] == ["DeadlineExceeded"]
    assert ("stop_container", "c1") in runtime.calls and worker.life.stage is Stage.TERMINATED
    assert not [c for c in runtime.calls if c[0] in ("run_sandbox", "create_container")]


def test_a_pod_gone_from_the_api_is_stopped_and_removed_at_once(tmp_path: Path) -> None:
    worker, runtime, rest = _worker(tmp_path)
    worker.sync(None)
    assert runtime.calls[:2] == [("stop_container", "c1"), ("stop_sandbox", "s1")]
    assert ("remove_sandbox", "") in runtime.calls
    assert worker.done.is_set() and not rest.deleted  # nothing left to delete in the API
