"""ReplicaSet, Deployment and node lifecycle plans against upstream's rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nodelab.controlplane.controllers.nodelifecycle_plan import (
    DISK_PRESSURE,
    MEMORY_PRESSURE,
    NETWORK_UNAVAILABLE,
    NOT_READY,
    PID_PRESSURE,
    UNREACHABLE,
    desired_taints,
    eviction_time,
    format_time,
    unknown_conditions_patch,
)
from nodelab.controlplane.controllers.workloads.deployment_plan import HASH_LABEL, plan_deployment
from nodelab.controlplane.controllers.workloads.replicaset_plan import (
    plan_replicaset,
    replica_failure_conditions,
)

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


def rs(replicas: int) -> dict[str, Any]:
    return {"metadata": {"name": "web-abc", "namespace": "default", "uid": "rs-uid",
                         "generation": 2},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "web"}]}}}}


def pod(name: str, *, node: str | None = "node1", phase: str = "Running", ready: bool = True,
        created: str = "2026-01-01T00:00:00Z", owner: str = "rs-uid") -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"app": "web"}, "creationTimestamp": created,
                         "ownerReferences": [{"uid": owner, "controller": True}]},
            "spec": {"nodeName": node} if node else {},
            "status": {"phase": phase, "conditions": [
                {"type": "Ready", "status": "True" if ready else "False"}]}}


def test_replicaset_creates_from_its_template_with_an_owner_reference() -> None:
    plan = plan_replicaset(rs(3), [pod("a"), pod("x", owner="someone-else")])
    assert len(plan.create) == 2
    created = plan.create[0]
    assert created["metadata"]["generateName"] == "web-abc-"
    assert created["metadata"]["ownerReferences"][0]["uid"] == "rs-uid"
    assert created["metadata"]["labels"] == {"app": "web"}
    assert plan.status["replicas"] == 1 and plan.status["observedGeneration"] == 2


def test_replicaset_deletes_the_least_valuable_pods_first() -> None:
    pods = [pod("running-old"), pod("unscheduled", node=None, phase="Pending", ready=False),
            pod("not-ready", ready=False), pod("running-new", created="2026-01-02T00:00:00Z")]
    plan = plan_replicaset(rs(1), pods)
    assert plan.delete == ["unscheduled", "not-ready", "running-new"]
    finished = [pod("done", phase="Succeeded"), pod("a")]
    assert plan_replicaset(rs(1), finished).status["replicas"] == 1


def deployment(replicas: int, image: str, **strategy: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": 1},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "strategy": strategy or {"type": "RollingUpdate"},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}


def run_rollout(d: dict[str, Any], sets: list[dict[str, Any]],
                steps: int = 30) -> tuple[list[dict[str, Any]], list[int]]:
    """Apply plans with pods that become available at once; record total pods per step."""
    totals = []
    for _ in range(steps):
        plan = plan_deployment(d, sets)
        for created in plan.create:
            created["metadata"]["creationTimestamp"] = f"2026-01-01T00:00:{len(sets):02d}Z"
            sets.append(created)
        for item in sets:
            name = item["metadata"]["name"]
            if name in plan.scale:
                item["spec"]["replicas"] = plan.scale[name]
            size = item["spec"]["replicas"]
            item["status"] = {"replicas": size, "readyReplicas": size, "availableReplicas": size}
        totals.append(sum(item["spec"]["replicas"] for item in sets))
        status = plan_deployment(d, sets).status
        if status["updatedReplicas"] == status["replicas"] == status["availableReplicas"] \
                == d["spec"]["replicas"]:
            break
    return sets, totals


def test_first_rollout_creates_the_hashed_replicaset() -> None:
    sets, _ = run_rollout(deployment(4, "web:1"), [])
    assert len(sets) == 1
    only = sets[0]
    hash_value = only["metadata"]["labels"][HASH_LABEL]
    assert only["metadata"]["name"] == f"web-{hash_value}"
    assert only["spec"]["selector"]["matchLabels"][HASH_LABEL] == hash_value
    assert only["spec"]["replicas"] == 4
    status = plan_deployment(deployment(4, "web:1"), sets).status
    reasons = {c["type"]: c["reason"] for c in status["conditions"]}
    assert reasons == {"Available": "MinimumReplicasAvailable",
                       "Progressing": "NewReplicaSetAvailable"}


def test_rolling_update_respects_surge_and_unavailability() -> None:
    sets, _ = run_rollout(deployment(4, "web:1"), [])
    d2 = deployment(4, "web:2", type="RollingUpdate",
                    rollingUpdate={"maxSurge": 1, "maxUnavailable": 0})
    sets, totals = run_rollout(d2, sets)
    assert max(totals) <= 5  # replicas + maxSurge
    names = {s["metadata"]["name"]: s["spec"]["replicas"] for s in sets}
    assert sorted(names.values()) == [0, 4]
    new = next(s for s in sets if s["spec"]["replicas"] == 4)
    assert new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"


def test_a_rollout_whose_new_pods_never_become_available_keeps_the_old_ones() -> None:
    """`kubectl set image` to an image that does not exist (4 replicas, 25 %/25 %): upstream
    stops at 3 old pods and 2 new ones in ImagePullBackOff, and stays there. The old set's
    status lags its spec by one pass here (availableReplicas still counts the pod it just let
    go), as a controller's cache does."""
    sets, _ = run_rollout(deployment(4, "web:1"), [])
    broken = deployment(4, "web:missing")
    for _ in range(20):
        plan = plan_deployment(broken, sets)
        for created in plan.create:
            created["metadata"]["creationTimestamp"] = "2026-01-01T00:01:00Z"
            sets.append(created)
        for item in sets:
            name, before = item["metadata"]["name"], item["spec"]["replicas"]
            item["spec"]["replicas"] = plan.scale.get(name, before)
            image = item["spec"]["template"]["spec"]["containers"][0]["image"]
            item["status"] = {"replicas": before,
                              "availableReplicas": 0 if image == "web:missing" else before}
        old = next(i for i in sets if i["spec"]["template"]["spec"]["containers"][0]["image"]
                   == "web:1")
        assert old["spec"]["replicas"] >= 3, [i["spec"]["replicas"] for i in sets]
    assert sorted(i["spec"]["replicas"] for i in sets) == [2, 3]


def test_rolling_back_gives_the_old_replicaset_the_next_revision() -> None:
    """`kubectl rollout undo` puts revision 1's template back: that ReplicaSet becomes
    revision 3, and the Deployment carries the revision of its new ReplicaSet."""
    sets, _ = run_rollout(deployment(2, "web:1"), [])
    assert plan_deployment(deployment(2, "web:1"), sets).revision == "1"
    sets, _ = run_rollout(deployment(2, "web:2"), sets)
    first = next(s for s in sets
                 if s["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1")
    plan = plan_deployment(deployment(2, "web:1"), sets)
    assert plan.revise == {first["metadata"]["name"]: "3"}
    assert plan.revision == "3"
    assert not plan.create


def test_recreate_scales_old_to_zero_first() -> None:
    sets, _ = run_rollout(deployment(2, "web:1"), [])
    plan = plan_deployment(deployment(2, "web:2", type="Recreate"), sets)
    assert plan.create[0]["spec"]["replicas"] == 0
    assert list(plan.scale.values()) == [0]


def test_scaling_events_name_both_sizes_as_upstream() -> None:
    """ScalingReplicaSet events say `Scaled up|down replica set X from A to B` (upstream's
    sync.go); creating an empty set (replicas: 0, or Recreate's new set) records none."""
    assert plan_deployment(deployment(0, "web:1"), []).scaling == []
    first = plan_deployment(deployment(3, "web:1"), [])
    name = first.create[0]["metadata"]["name"]
    assert first.scaling == [f"Scaled up replica set {name} from 0 to 3"]
    sets, _ = run_rollout(deployment(3, "web:1"), [])
    down = plan_deployment(deployment(1, "web:1"), sets)
    assert down.scaling == [f"Scaled down replica set {name} from 3 to 1"]
    recreate = plan_deployment(deployment(3, "web:2", type="Recreate"), sets)
    assert recreate.scaling == [f"Scaled down replica set {name} from 3 to 0"]


def node(ready: str, heartbeat: dt.datetime) -> dict[str, Any]:
    return {"metadata": {"name": "node1", "creationTimestamp": "2025-01-01T00:00:00Z"},
            "spec": {"taints": [{"key": "mine", "effect": "NoSchedule"}]},
            "status": {"conditions": [{"type": "Ready", "status": ready,
                                       "lastHeartbeatTime": format_time(heartbeat)}]}}


def test_a_silent_node_becomes_unknown_and_unreachable() -> None:
    fresh = node("True", NOW - dt.timedelta(seconds=10))
    assert unknown_conditions_patch(fresh, None, NOW) is None
    stale = node("True", NOW - dt.timedelta(seconds=60))
    lease = {"spec": {"renewTime": format_time(NOW - dt.timedelta(seconds=5))}}
    assert unknown_conditions_patch(stale, lease, NOW) is None  # the lease is fresh
    conditions = unknown_conditions_patch(stale, None, NOW)
    assert conditions is not None
    ready = next(c for c in conditions if c["type"] == "Ready")
    assert ready["status"] == "Unknown" and ready["reason"] == "NodeStatusUnknown"
    assert ready["message"] == "Kubelet stopped posting node status."
    assert {c["type"] for c in conditions} == {"Ready", "MemoryPressure", "DiskPressure",
                                               "PIDPressure"}
    stale["status"]["conditions"] = conditions
    taints = desired_taints(stale, NOW)
    assert {(t["key"], t["effect"]) for t in taints} == {
        ("mine", "NoSchedule"), (UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}
    assert desired_taints(node("True", NOW), NOW) == [{"key": "mine", "effect": "NoSchedule"}]
    assert {t["key"] for t in desired_taints(node("False", NOW), NOW)} == {"mine", NOT_READY}
    unposted = {"metadata": {"name": "new"}, "spec": {"taints": [{"key": "mine",
                                                                  "effect": "NoSchedule"}]}}
    assert desired_taints(unposted, NOW) == [{"key": "mine", "effect": "NoSchedule"}]


@pytest.mark.parametrize(("condition", "status", "taint"), [
    ("MemoryPressure", "True", MEMORY_PRESSURE),
    ("DiskPressure", "True", DISK_PRESSURE),
    ("PIDPressure", "True", PID_PRESSURE),
    ("NetworkUnavailable", "True", NETWORK_UNAVAILABLE),
    ("MemoryPressure", "False", None),
    ("MemoryPressure", "Unknown", None),
    ("DiskPressure", "Unknown", None),
])
def test_a_pressure_condition_taints_the_node_no_schedule(
        condition: str, status: str, taint: str | None) -> None:
    pressed = node("True", NOW)
    pressed["status"]["conditions"].append({"type": condition, "status": status})
    wanted = {("mine", "NoSchedule")} | ({(taint, "NoSchedule")} if taint else set())
    assert {(t["key"], t["effect"]) for t in desired_taints(pressed, NOW)} == wanted


def test_a_pressure_taint_is_kept_as_it_is_and_removed_when_the_condition_clears() -> None:
    pressed = node("True", NOW)
    added = {"key": MEMORY_PRESSURE, "effect": "NoSchedule", "timeAdded": "2025-01-01T00:00:00Z"}
    pressed["spec"]["taints"].append(added)
    pressed["status"]["conditions"].append({"type": "MemoryPressure", "status": "True"})
    assert desired_taints(pressed, NOW) == [{"key": "mine", "effect": "NoSchedule"}, added]
    pressed["status"]["conditions"][-1]["status"] = "False"
    assert desired_taints(pressed, NOW) == [{"key": "mine", "effect": "NoSchedule"}]


def test_eviction_follows_toleration_seconds() -> None:
    taint = {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": format_time(NOW)}
    default = {"spec": {"tolerations": [{"key": UNREACHABLE, "operator": "Exists",
                                         "effect": "NoExecute", "tolerationSeconds": 300}]}}
    assert eviction_time(default, [taint]) == NOW + dt.timedelta(seconds=300)
    assert eviction_time({"spec": {}}, [taint]) == NOW
    forever = {"spec": {"tolerations": [{"operator": "Exists"}]}}
    assert eviction_time(forever, [taint]) is None
    assert eviction_time({"spec": {}}, [{**taint, "effect": "NoSchedule"}]) is None


def test_a_replication_controller_is_planned_as_a_replicaset_of_core_v1() -> None:
    plan = plan_replicaset(rs(2), [], kind="ReplicationController", api_version="v1")
    owner = plan.create[0]["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["apiVersion"]) == ("ReplicationController", "v1")
    assert len(plan.create) == 2


def test_replication_controller_defaults_come_from_the_template() -> None:
    from nodelab.controlplane.registry.defaults import apply_defaults

    rc: dict[str, Any] = {"metadata": {"name": "old"}, "spec": {"template": {
        "metadata": {"labels": {"app": "old"}}, "spec": {"containers": [{"name": "c"}]}}}}
    apply_defaults("core/replicationcontrollers", rc)
    assert rc["spec"]["selector"] == {"app": "old"} and rc["metadata"]["labels"] == {
        "app": "old"}
    assert rc["spec"]["replicas"] == 1


FAILURE = {"type": "ReplicaFailure", "status": "True", "lastTransitionTime": "t0",
           "reason": "FailedCreate", "message": "old"}


@pytest.mark.parametrize(("current", "failure", "expected"), [
    ([], None, []),
    ([], 'pods "p" is forbidden: exceeded quota: q',
     [{"type": "ReplicaFailure", "status": "True", "lastTransitionTime": "t1",
       "reason": "FailedCreate", "message": 'pods "p" is forbidden: exceeded quota: q'}]),
    ([FAILURE], "new", [FAILURE]),  # kept as it was, as upstream's calculateStatus
    ([FAILURE], None, []),
])
def test_replica_failure_condition(current: list[dict[str, Any]], failure: str | None,
                                   expected: list[dict[str, Any]]) -> None:
    assert replica_failure_conditions(current, failure, "FailedCreate", "t1") == expected


def test_a_replica_failure_shows_on_the_deployment() -> None:
    sets, _ = run_rollout(deployment(4, "web:1"), [])
    sets[0]["status"]["conditions"] = [FAILURE]
    status = plan_deployment(deployment(4, "web:1"), sets).status
    failure = [c for c in status["conditions"] if c["type"] == "ReplicaFailure"]
    assert failure == [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                        "message": "old", "lastUpdateTime": "t0", "lastTransitionTime": "t0"}]
