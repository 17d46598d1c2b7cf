"""The quota controller against admission's charge (controllers/quota/resourcequota.py): a
recount from a pod cache that has not yet delivered the pod a charged quota counts is not
written (it would drop the charge and let the next pod past a full quota), and is written once
the cache caught up; the decision (`may_write_recount`) as a table."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.controllers.quota.resourcequota import COUNTED, ResourceQuotaController
from nodelab.kube.quota.usage import may_write_recount
from nodelab.kube.store import Store


class RecordingWriter:
    """Records the status writes the controller makes (it needs no API server here)."""

    def __init__(self) -> None:
        self.replaced: list[dict[str, Any]] = []

    def replace(self, kind: str, namespace: str, name: str, body: dict[str, Any],
                subresource: str) -> dict[str, Any]:
        self.replaced.append(body)
        return body


def quota(version: str, used_pods: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "q", "namespace": "ns", "resourceVersion": version},
            "spec": {"hard": {"pods": "1"}},
            "status": {"hard": {"pods": "1"}, "used": {"pods": used_pods}}}


def pod(version: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "resourceVersion": version},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}, "status": {}}


@pytest.mark.unit
def test_a_charge_seen_before_its_pod_is_not_recounted_away() -> None:
    store = Store()
    for kind in COUNTED:
        store.handle(kind, "LIST", [])
        store.mark_delivered(kind, "5")
    # admission charged the quota (rv 10) and then stored the pod (rv 11); the controller's
    # quota reflector delivered the charge, its pod reflector not yet the pod
    store.handle("resourcequotas", "MODIFIED", quota("10", "1"))
    store.mark_delivered("resourcequotas", "10")
    writer = RecordingWriter()
    controller = ResourceQuotaController()
    controller.sync(store, writer)  # type: ignore[arg-type]  # the first pass is a full resync
    assert writer.replaced == []
    # the pod arrives: the recount counts it, and nothing lower is ever written
    store.handle("pods", "ADDED", pod("11"))
    for kind in COUNTED:
        store.mark_delivered(kind, "11")
    controller.sync(store, writer)  # type: ignore[arg-type]
    assert all(body["status"]["used"]["pods"] == "1" for body in writer.replaced)


@pytest.mark.unit
def test_a_deferred_lower_recount_is_written_once_caught_up() -> None:
    store = Store()
    for kind in COUNTED:
        store.handle(kind, "LIST", [])
        store.mark_delivered(kind, "5")
    store.handle("resourcequotas", "MODIFIED", quota("10", "1"))  # charged, the pod refused
    writer = RecordingWriter()
    controller = ResourceQuotaController()
    controller.sync(store, writer)  # type: ignore[arg-type]
    assert writer.replaced == []
    for kind in COUNTED:  # a bookmark moves each cache past the quota
        store.mark_delivered(kind, "12")
    controller.sync(store, writer)  # type: ignore[arg-type]
    assert [body["status"]["used"] for body in writer.replaced] == [{"pods": "0"}]


@pytest.mark.unit
@pytest.mark.parametrize(("used", "recount", "delivered", "allowed"), [
    ("1", "0", {"pods": 5, "resourcequotas": 10}, False),   # lower, pods cache behind
    ("1", "0", {"pods": 10, "resourcequotas": 10}, True),   # lower, caught up
    ("1", "2", {"pods": 5, "resourcequotas": 10}, True),    # higher loses no charge
    ("1", "1", {"pods": 5, "resourcequotas": 10}, True),    # equal
])
def test_may_write_recount(used: str, recount: str, delivered: dict[str, int],
                           allowed: bool) -> None:
    wanted = {"hard": {"pods": "1"}, "used": {"pods": recount}}
    assert may_write_recount(quota("10", used), wanted, delivered) is allowed
