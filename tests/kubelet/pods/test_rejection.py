"""A pod admission refuses is rejected once (upstream's rejectPod runs once per pod addition):
a sync of the pod before its watch shows it Failed posts the Failed status again but neither
asks admission again nor records a second event."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from nodelab.kubelet.pods.admission import Rejection
from nodelab.kubelet.pods.pod_sync import PodSync
from nodelab.kubelet.pods.requeue import SyncOutcome

pytestmark = pytest.mark.unit

POD: dict[str, Any] = {"metadata": {"name": "one-too-many", "namespace": "default", "uid": "u1"},
                       "spec": {"containers": [{"name": "app", "image": "busybox"}]},
                       "status": {"phase": "Pending"}}
REFUSAL = Rejection("OutOfpods", "Node didn't have enough resource: pods, requested: 1, "
                    "used: 3, capacity: 3")


class Rest:
    def __init__(self) -> None:
        self.patches: list[tuple[str, str, dict[str, Any]]] = []

    def patch(self, kind: str, namespace: str, name: str, body: dict[str, Any],
              subresource: str = "") -> None:
        self.patches.append((name, subresource, body))


def test_a_refused_pod_is_asked_about_and_recorded_once() -> None:
    asked: list[bool] = []

    def admission(pod: dict[str, Any], started: bool) -> Rejection:
        asked.append(started)
        return REFUSAL

    events: list[tuple[str, str, str]] = []
    rest = Rest()
    runtime = SimpleNamespace(sandboxes=lambda uid: [], containers=lambda uid: [])
    sync = PodSync("u1", runtime, rest,  # type: ignore[arg-type]
                   SimpleNamespace(backoff=None),  # type: ignore[arg-type]
                   SimpleNamespace(fetch=None),  # type: ignore[arg-type]
                   lambda pod, reason, message, kind: events.append((kind, reason, message)),
                   syncing=lambda: True,
                   admission=admission)
    for _ in range(3):  # the pod's events queued before its Failed status came back
        assert sync.sync_pod(POD).outcome is SyncOutcome.SYNCED
    assert asked == [False]
    assert events == [("Warning", REFUSAL.reason, REFUSAL.message)]
    assert len(rest.patches) == 3
    assert all(body["status"] == {"phase": "Failed", "reason": "OutOfpods",
                                  "message": f"Pod was rejected: {REFUSAL.message}",
                                  "qosClass": "BestEffort"} and sub == "status"
               for _, sub, body in rest.patches)
