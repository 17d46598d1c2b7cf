"""The kubelet's status write (status_patch.py): a strategic merge patch of what changed, as
upstream's PatchPodStatus; applied here with the API server's own strategic merge to show
that nothing another writer added is lost."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from nodelab.controlplane.registry import strategicpatch
from nodelab.kube import schema
from nodelab.kubelet.pods.status_patch import status_patch

pytestmark = pytest.mark.unit

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"


def cond(kind: str, status: str, when: str = T0, **extra: str) -> dict[str, Any]:
    return {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": when,
            **extra}


READ: dict[str, Any] = {  # the status the kubelet computed from
    "phase": "Pending", "podIP": None, "podIPs": [], "hostIP": "10.0.0.2",
    "hostIPs": [{"ip": "10.0.0.2"}], "qosClass": "BestEffort",
    "conditions": [cond("PodScheduled", "True"), cond("Ready", "False"),
                   cond("ContainersReady", "False")],
    "containerStatuses": [{"name": "c", "ready": False, "restartCount": 0,
                           "state": {"waiting": {"reason": "ContainerCreating"}}}],
}


def apply(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "uid": "u1"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}, "status": current}
    result: dict[str, Any] = strategicpatch.apply(pod, patch, schema.for_kind("", "v1", "Pod"))
    return dict(result["status"])


def test_nothing_changed_nothing_sent() -> None:
    assert status_patch("u1", READ, copy.deepcopy(READ)) is None


def test_a_condition_added_by_someone_else_meanwhile_stays() -> None:
    new = copy.deepcopy(READ)
    new.update(phase="Running", podIP="10.244.0.5", podIPs=[{"ip": "10.244.0.5"}])
    new["conditions"][1] = cond("Ready", "True", T1)
    new["conditions"][2] = cond("ContainersReady", "True", T1)
    patch = status_patch("u1", READ, new)
    assert patch is not None and patch["metadata"] == {"uid": "u1"}
    assert [c["type"] for c in patch["status"]["conditions"]] == ["Ready", "ContainersReady"]
    on_server = copy.deepcopy(READ)  # a readiness gate's controller wrote in between
    on_server["conditions"].append(cond("example.com/gate", "True", T1))
    written = apply(on_server, patch)
    kinds = {c["type"]: c["status"] for c in written["conditions"]}
    assert kinds == {"PodScheduled": "True", "Ready": "True", "ContainersReady": "True",
                     "example.com/gate": "True"}
    assert written["phase"] == "Running" and written["podIPs"] == [{"ip": "10.244.0.5"}]


def test_a_new_pod_ip_replaces_the_old_one() -> None:
    old = {**copy.deepcopy(READ), "podIP": "10.244.0.5", "podIPs": [{"ip": "10.244.0.5"}]}
    new = {**copy.deepcopy(READ), "podIP": "10.244.0.9", "podIPs": [{"ip": "10.244.0.9"}]}
    patch = status_patch("u1", old, new)
    assert patch is not None
    assert patch["status"]["$setElementOrder/podIPs"] == [{"ip": "10.244.0.9"}]
    written = apply(old, patch)
    assert written["podIPs"] == [{"ip": "10.244.0.9"}] and written["podIP"] == "10.244.0.9"
    gone = apply(old, status_patch("u1", old, {**new, "podIP": None, "podIPs": []}) or {})
    assert gone["podIPs"] == [] or "podIPs" not in gone


def test_fields_the_kubelet_does_not_write_are_left_alone() -> None:
    old = {**copy.deepcopy(READ), "nominatedNodeName": "node1"}
    new = {**copy.deepcopy(READ), "phase": "Running"}
    patch = status_patch("u1", old, new)
    assert patch == {"metadata": {"uid": "u1"}, "status": {"phase": "Running"}}
    assert apply(old, patch)["nominatedNodeName"] == "node1"
