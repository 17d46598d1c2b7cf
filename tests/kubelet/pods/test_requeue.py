"""When a pod worker syncs again on its own (upstream's completeWork), and which syncs fail.

The decision is a table; the outcomes come from the real PodWorker and PodSync running one
sync at a time against the recording fake runtime of test_eviction_worker (no thread)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nodelab.kubelet.pods.requeue import (
    BACK_OFF_PERIOD,
    SyncOutcome,
    jitter,
    requeue_after,
    start_failed,
)
from nodelab.kubelet.pods.settings import PodSettings
from nodelab.kubelet.pods.volumes.pod_volumes import VolumeSources
from nodelab.kubelet.pods.worker import PodWorker
from tests.kubelet.pods.test_eviction_worker import UID, FakeRuntime, Recorder, _pod

pytestmark = pytest.mark.unit
RESYNC, IDLE = 1.0, 60.0


@pytest.mark.parametrize("outcome, settled, draw, after", [
    # a failed sync: upstream's backOffPeriod, 10 s, plus up to half of it
    (SyncOutcome.FAILED, False, 0.0, 10.0),
    (SyncOutcome.FAILED, False, 0.5, 12.5),
    (SyncOutcome.FAILED, False, 0.999, 14.995),
    (SyncOutcome.FAILED, True, 0.0, 10.0),  # settled or not
    # the network not ready: backOffOnTransientErrorPeriod, 1 s, plus up to half of it
    (SyncOutcome.NETWORK_NOT_READY, False, 0.0, 1.0),
    (SyncOutcome.NETWORK_NOT_READY, True, 0.8, 1.4),
    # a sync that worked: nodelab's polling resync, or once settled upstream's
    # resyncInterval plus up to half of it (workerResyncIntervalJitterFactor)
    (SyncOutcome.SYNCED, False, 0.7, RESYNC),
    (SyncOutcome.SYNCED, True, 0.0, IDLE),
    (SyncOutcome.SYNCED, True, 0.7, 81.0),
])
def test_requeue_after(outcome: SyncOutcome, settled: bool, draw: float, after: float) -> None:
    assert requeue_after(outcome, settled, RESYNC, IDLE, draw) == pytest.approx(after)


def test_jitter_is_apimachinerys() -> None:
    assert jitter(BACK_OFF_PERIOD, 0.5, 0.0) == 10.0
    assert jitter(60.0, 0.5, 1.0) == 90.0


@pytest.mark.parametrize("reason, failed", [
    ("", False),  # not tried (or started)
    ("CrashLoopBackOff", False),  # back-offs are waiting, not failing (upstream's SyncPod)
    ("ImagePullBackOff", False),
    ("ErrImagePull", True),
    ("ErrImageNeverPull", True),
    ("CreateContainerConfigError", True),
    ("CreateContainerError", True),
    ("RunContainerError", True),
    ("PostStartHookError", True),
])
def test_which_failed_starts_fail_the_sync(reason: str, failed: bool) -> None:
    assert start_failed(reason) is failed


def _worker(tmp_path: Path) -> tuple[PodWorker, FakeRuntime]:
    runtime = FakeRuntime()
    runtime.image_user = lambda image: (0, "")  # type: ignore[attr-defined]
    settings = PodSettings(node_name="n1", node_ip="10.0.0.2", state_dir=tmp_path,
                           log_root=tmp_path / "logs", memory_capacity=2**30)
    sources = VolumeSources(fetch=lambda *a: None, token=lambda *a: "")
    worker = PodWorker(UID, lambda uid: None, runtime, Recorder(),  # type: ignore[arg-type]
                       settings, sources)
    return worker, runtime


def _needing_a_config_map() -> dict[str, Any]:
    pod = _pod("Running", "2")
    pod["spec"]["containers"][0]["env"] = [
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "mode"}}}]
    return pod


def test_a_container_that_cannot_be_configured_fails_the_sync(tmp_path: Path) -> None:
    worker, runtime = _worker(tmp_path)
    runtime.container_state = "exited"  # restartPolicy Always: it is to be started again
    assert worker.sync(_needing_a_config_map()) is SyncOutcome.FAILED
    assert worker.pod_sync.mem("app").waiting[0] == "CreateContainerConfigError"
    assert not worker.settled


def test_a_running_pod_syncs_without_failing(tmp_path: Path) -> None:
    worker, _ = _worker(tmp_path)
    assert worker.sync(_pod("Running", "2")) is SyncOutcome.SYNCED
    assert worker.settled


def test_a_pod_waiting_for_the_network_is_told_apart(tmp_path: Path) -> None:
    worker, runtime = _worker(tmp_path)
    runtime.network.error = lambda: "container runtime network not ready: NetworkReady=false"
    assert worker.sync(_pod("Running", "2")) is SyncOutcome.NETWORK_NOT_READY
