"""The StatefulSet controller's plan, against upstream's ordering and update rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nodelab.controlplane.controllers.workloads.statefulset_plan import plan_statefulset

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "web:2"}]}}
OLD_TEMPLATE = {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "web:1"}]}}


def sts(replicas: int = 3, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default", "uid": "s-uid", "generation": 1},
            "spec": {"replicas": replicas, "serviceName": "web", "template": TEMPLATE,
                     "selector": {"matchLabels": {"app": "web"}}, **spec}}


def pod(number: int, revision: str = "web-new", *, healthy: bool = True,
        phase: str = "Running", deleting: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": f"web-{number}",
                                "labels": {"controller-revision-hash": revision},
                                "ownerReferences": [{"uid": "s-uid", "controller": True}]}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T12:00:00Z"
    return {"metadata": metadata, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if healthy else "False"}]}}


def plan(set_: dict[str, Any], pods: list[dict[str, Any]], current: str = "web-new") -> Any:
    return plan_statefulset(set_, pods, "web-new", current,
                            OLD_TEMPLATE if current != "web-new" else TEMPLATE, NOW)


def names(bodies: list[dict[str, Any]]) -> list[str]:
    return [b["metadata"]["name"] for b in bodies]


def test_ordered_ready_creates_one_ordinal_at_a_time_with_a_stable_identity() -> None:
    first = plan(sts(), [])
    assert names(first.create) == ["web-0"]
    web0 = first.create[0]
    assert web0["spec"]["hostname"] == "web-0" and web0["spec"]["subdomain"] == "web"
    assert web0["metadata"]["labels"] == {
        "app": "web", "statefulset.kubernetes.io/pod-name": "web-0",
        "apps.kubernetes.io/pod-index": "0", "controller-revision-hash": "web-new"}
    assert plan(sts(), [pod(0, healthy=False)]).create == []  # waits for web-0
    assert names(plan(sts(), [pod(0)]).create) == ["web-1"]


def test_parallel_creates_every_ordinal_at_once() -> None:
    assert names(plan(sts(podManagementPolicy="Parallel"), []).create) == [
        "web-0", "web-1", "web-2"]
    start = plan(sts(2, podManagementPolicy="Parallel", ordinals={"start": 5}), [])
    assert names(start.create) == ["web-5", "web-6"]


def test_scale_down_removes_the_highest_ordinal_first_one_at_a_time() -> None:
    pods = [pod(0), pod(1), pod(2), pod(3)]
    assert plan(sts(2), pods).delete == ["web-3"]
    pods[3] = pod(3, deleting=True)
    assert plan(sts(2), pods).delete == []  # waits for web-3 to go
    assert plan(sts(2, podManagementPolicy="Parallel"), pods).delete == ["web-2"]


def test_a_failed_pod_is_deleted_to_be_made_again() -> None:
    assert plan(sts(), [pod(0), pod(1, phase="Failed")]).delete == ["web-1"]


def test_rolling_update_goes_from_the_highest_ordinal_down_to_the_partition() -> None:
    old = [pod(0, "web-old"), pod(1, "web-old"), pod(2, "web-old")]
    assert plan(sts(), old, "web-old").delete == ["web-2"]
    mid = [pod(0, "web-old"), pod(1, "web-old"), pod(2, healthy=False)]
    assert plan(sts(), mid, "web-old").delete == []  # waits for web-2 to be ready
    mid[2] = pod(2)
    assert plan(sts(), mid, "web-old").delete == ["web-1"]
    partitioned = sts(updateStrategy={"type": "RollingUpdate",
                                      "rollingUpdate": {"partition": 1}})
    done = [pod(0, "web-old"), pod(1), pod(2)]
    result = plan(partitioned, done, "web-old")
    assert result.delete == [] and result.status["updatedReplicas"] == 2
    assert result.status["currentRevision"] == "web-old"
    remade = plan(partitioned, [pod(1), pod(2)], "web-old").create[0]
    assert remade["metadata"]["labels"]["controller-revision-hash"] == "web-old"
    assert remade["spec"]["containers"][0]["image"] == "web:1"  # below the partition


def test_on_delete_does_not_replace_old_pods() -> None:
    old = [pod(0, "web-old"), pod(1, "web-old"), pod(2, "web-old")]
    assert plan(sts(updateStrategy={"type": "OnDelete"}), old, "web-old").delete == []


def test_status_moves_the_current_revision_when_every_pod_is_updated() -> None:
    status = plan(sts(), [pod(0), pod(1), pod(2)], "web-old").status
    assert status["currentRevision"] == status["updateRevision"] == "web-new"
    assert status["readyReplicas"] == status["currentReplicas"] == 3
