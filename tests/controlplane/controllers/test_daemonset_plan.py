"""The DaemonSet controller's plan and the ControllerRevision history, against upstream's
rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nodelab.controlplane.controllers.workloads.controllerrevision_plan import (
    HASH_LABEL,
    plan_history,
    revision_data,
)
from nodelab.controlplane.controllers.workloads.daemonset_plan import plan_daemonset
from nodelab.controlplane.controllers.workloads.daemonset_pods import should_run, target_node

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


def ds(**strategy: Any) -> dict[str, Any]:
    return {"metadata": {"name": "agent", "namespace": "default", "uid": "ds-uid",
                         "generation": 3},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "updateStrategy": strategy or {"type": "RollingUpdate", "rollingUpdate": {
                         "maxUnavailable": 1, "maxSurge": 0}},
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"containers": [{"name": "c", "image": "agent:1"}]}}}}


def node(name: str, taints: list[dict[str, Any]] | None = None,
         labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"taints": taints or []}}


def pod(name: str, on: str, hash_value: str = "new", *, ready: bool = True,
        phase: str = "Running", created: str = "2026-01-01T00:00:00Z",
        deleting: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name, "creationTimestamp": created, "labels": {HASH_LABEL: hash_value},
        "ownerReferences": [{"uid": "ds-uid", "controller": True}]}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T11:59:00Z"
    return {"metadata": metadata, "spec": {"nodeName": on},
            "status": {"phase": phase, "conditions": [
                {"type": "Ready", "status": "True" if ready else "False",
                 "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}


NODES = [node("node1"), node("node2"), node("node3")]


def test_every_node_gets_a_pod_placed_by_node_affinity_with_daemon_tolerations() -> None:
    plan = plan_daemonset(ds(), NODES[:2], [], "new", NOW)
    assert sorted(target_node(p) or "" for p in plan.create) == ["node1", "node2"]
    created = plan.create[0]
    spec = created["spec"]
    assert "nodeName" not in spec
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"][0]["matchFields"][0]["key"] == "metadata.name"
    keys = {(t["key"].split("/")[1], t["effect"]) for t in spec["tolerations"]}
    assert keys == {("not-ready", "NoExecute"), ("unreachable", "NoExecute"),
                    ("disk-pressure", "NoSchedule"), ("memory-pressure", "NoSchedule"),
                    ("pid-pressure", "NoSchedule"), ("unschedulable", "NoSchedule")}
    assert all("tolerationSeconds" not in t for t in spec["tolerations"])
    assert created["metadata"]["labels"] == {"app": "agent", HASH_LABEL: "new",
                                             "pod-template-generation": "3"}
    assert plan.status["desiredNumberScheduled"] == 2


@pytest.mark.parametrize(("taints", "labels", "expected"), [
    ([], {}, (True, True)),
    ([{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}], {}, (True, True)),
    ([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}], {}, (True, True)),
    ([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}], {}, (False, True)),
    ([{"key": "dedicated", "value": "db", "effect": "NoExecute"}], {}, (False, False)),
    ([], {"disk": "hdd"}, (False, False)),
])
def test_which_nodes_should_run_a_daemon_pod(taints: list[dict[str, Any]],
                                             labels: dict[str, str],
                                             expected: tuple[bool, bool]) -> None:
    spec = {"nodeSelector": {"disk": "ssd"}} if labels else {}
    assert should_run(spec, node("n", taints, labels)) == expected


def test_network_unavailable_is_tolerated_by_host_network_pods_only() -> None:
    taint = {"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}
    assert should_run({"hostNetwork": True}, node("n", [taint])) == (True, True)
    assert should_run({}, node("n", [taint])) == (False, True)


def test_failed_extra_and_misplaced_pods_are_deleted() -> None:
    pods = [pod("a", "node1", phase="Failed"), pod("b", "node2"),
            pod("c", "node2", created="2026-01-01T01:00:00Z"), pod("d", "gone"),
            pod("e", "node3", deleting=True)]
    plan = plan_daemonset(ds(), NODES, pods, "new", NOW)
    assert sorted(plan.delete) == ["a", "c", "d"]
    assert plan.failed == [("a", "node1")]
    assert plan.create == []  # node1's replacement comes once the failed pod is gone
    tainted = [node("node1", [{"key": "k", "effect": "NoExecute"}])]
    plan = plan_daemonset(ds(), tainted, [pod("x", "node1")], "new", NOW)
    assert plan.delete == ["x"] and plan.status["numberMisscheduled"] == 1


def test_rolling_update_without_surge_replaces_max_unavailable_at_a_time() -> None:
    pods = [pod("a", "node1", "old"), pod("b", "node2", "old"), pod("c", "node3", "old")]
    plan = plan_daemonset(ds(), NODES, pods, "new", NOW)
    assert plan.delete == ["a"] and plan.create == []
    # node1's old pod is gone and its new one not ready yet: nothing else goes
    pods = [pod("a2", "node1", ready=False), pod("b", "node2", "old"), pod("c", "node3", "old")]
    assert plan_daemonset(ds(), NODES, pods, "new", NOW).delete == []
    # an old pod that is not available is replaced at once
    pods[2] = pod("c", "node3", "old", ready=False)
    assert plan_daemonset(ds(), NODES, pods, "new", NOW).delete == ["c"]


def test_rolling_update_with_surge_starts_new_pods_beside_old_ones() -> None:
    surge = ds(type="RollingUpdate", rollingUpdate={"maxUnavailable": 0, "maxSurge": 1})
    pods = [pod("a", "node1", "old"), pod("b", "node2", "old")]
    plan = plan_daemonset(surge, NODES[:2], pods, "new", NOW)
    assert [target_node(p) for p in plan.create] == ["node1"] and plan.delete == []
    pods.append(pod("a2", "node1", "new", created="2026-01-01T02:00:00Z"))
    plan = plan_daemonset(surge, NODES[:2], pods, "new", NOW)
    # a1's replacement is available: its old pod goes, and node2 may surge now
    assert plan.delete == ["a"] and [target_node(p) for p in plan.create] == ["node2"]
    status = plan.status
    assert status["updatedNumberScheduled"] == 1 and status["numberAvailable"] == 2


def test_on_delete_leaves_old_pods_alone() -> None:
    plan = plan_daemonset(ds(type="OnDelete"), NODES[:1], [pod("a", "node1", "old")], "new",
                          NOW)
    assert plan.delete == [] and plan.create == []
    assert "updatedNumberScheduled" not in plan.status


def revision(name: str, number: int, template: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {HASH_LABEL: name.split("-")[-1]},
                         "ownerReferences": [{"uid": "ds-uid", "controller": True}]},
            "data": revision_data(template), "revision": number}


def test_history_creates_renumbers_and_trims_revisions() -> None:
    owner = ds()
    template = owner["spec"]["template"]
    first = plan_history(owner, "DaemonSet", [], set())
    assert first.create is not None and first.revision == 1
    assert first.create["data"]["spec"]["template"]["$patch"] == "replace"
    assert first.create["metadata"]["name"] == f"agent-{first.hash}"
    other = {"metadata": {"labels": {"app": "agent"}},
             "spec": {"containers": [{"name": "c", "image": "agent:2"}]}}
    revisions = [revision("agent-aaa", 1, template), revision("agent-bbb", 2, other)]
    rollback = plan_history(owner, "DaemonSet", revisions, set())
    assert rollback.create is None and rollback.renumber == {"agent-aaa": 3}
    assert rollback.hash == "aaa" and rollback.revision == 3
    owner["spec"]["revisionHistoryLimit"] = 1
    many = [revision(f"agent-x{i}", i, {"n": i}) for i in range(1, 4)]
    trimmed = plan_history(owner, "DaemonSet", many, {"x1"})
    assert trimmed.delete == ["agent-x2", "agent-x3"]  # x1 still runs somewhere
