"""The disruption controller's decisions (controllers/disruption_plan.py), as upstream's
pkg/controller/disruption tests them: expected and desired counts from minAvailable /
maxUnavailable and the owners' scale, healthy pods, disruptedPods and their expiry, the
DisruptionAllowed condition, the fail-safe, stale DisruptionTarget conditions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nodelab.controlplane.controllers.disruption_plan import (
    ExpectedCountError,
    Workloads,
    count_healthy,
    disrupted_pod_map,
    expected_pod_count,
    multiple_budgets_event,
    plan,
    stale_disruption_target,
)
from nodelab.kubewire.times import format_time

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 12, 3, 12, 0, 0, tzinfo=dt.timezone.utc)


def ago(seconds: float) -> str:
    return format_time(NOW - dt.timedelta(seconds=seconds))


def owner(kind: str, name: str, uid: str, api_version: str = "apps/v1") -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid,
            "controller": True}


def pod(name: str, ready: bool = True, labels: dict[str, str] | None = None,
        ref: dict[str, Any] | None = None, deleting: bool = False,
        namespace: str = "default", phase: str = "Running") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": f"uid-{name}",
                            "labels": {"app": "web"} if labels is None else labels}
    if ref is not None:
        meta["ownerReferences"] = [ref]
    if deleting:
        meta["deletionTimestamp"] = ago(1)
    return {"metadata": meta, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def pdb(status: dict[str, Any] | None = None, generation: int = 1,
        selector: Any = None, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default", "uid": "uid-pdb",
                         "generation": generation},
            "spec": {"selector": {"matchLabels": {"app": "web"}} if selector is None
                     else selector, **spec},
            "status": status or {}}


def workload(name: str, uid: str, replicas: int, ref: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default", "uid": uid}
    if ref is not None:
        meta["ownerReferences"] = [ref]
    return {"metadata": meta, "spec": {"replicas": replicas}}


# what the controller's action found for owners of other kinds (discovery, then `scale`)
SCALES: dict[tuple[str, str, str, str], Any] = {
    ("apps/v1", "DaemonSet", "default", "ds"):
        "daemonsets.apps does not implement the scale subresource",
    ("batch/v1", "Job", "default", "j"): "jobs.batch does not implement the scale subresource",
    ("example.com/v1", "Widget", "default", "w"):
        'no matches for kind "Widget" in version "example.com/v1"',
    ("stable.example.com/v1", "CronTab", "default", "ct"): ("uid-ct", 4),
}


def workloads(**kinds: list[dict[str, Any]]) -> Workloads:
    return Workloads({kind: {("default", o["metadata"]["name"]): o for o in objs}
                      for kind, objs in kinds.items()}, SCALES)


DEPLOYMENT = workload("web", "uid-d", 5)
RS_OF_DEPLOYMENT = workload("web-1", "uid-rs1", 3, owner("Deployment", "web", "uid-d"))
RS_OLD = workload("web-0", "uid-rs0", 2, owner("Deployment", "web", "uid-d"))
LONE_RS = workload("lone", "uid-lone", 4)
STS = workload("db", "uid-sts", 3)
RC = workload("old", "uid-rc", 2)
ALL = workloads(deployments=[DEPLOYMENT], replicasets=[RS_OF_DEPLOYMENT, RS_OLD, LONE_RS],
                statefulsets=[STS], replicationcontrollers=[RC])
BY_RS1 = owner("ReplicaSet", "web-1", "uid-rs1")
BY_RS0 = owner("ReplicaSet", "web-0", "uid-rs0")


@pytest.mark.parametrize(("spec", "pods", "expected"), [
    # an integer minAvailable: the pods found are the expected count
    ({"minAvailable": 2}, [pod("a"), pod("b"), pod("c")], (3, 2, [])),
    ({"minAvailable": 0}, [], (0, 0, [])),
    # a percentage: the controllers' scale, rounded up; a Deployment counts once, over both
    # of its ReplicaSets (during a rollout)
    ({"minAvailable": "50%"}, [pod("a", ref=BY_RS1), pod("b", ref=BY_RS0)], (5, 3, [])),
    ({"maxUnavailable": 1}, [pod("a", ref=BY_RS1)], (5, 4, [])),
    ({"maxUnavailable": "30%"}, [pod("a", ref=BY_RS1)], (5, 3, [])),  # 1.5 rounds up to 2
    ({"maxUnavailable": 9}, [pod("a", ref=BY_RS1)], (5, 0, [])),  # never below 0
    ({"maxUnavailable": "100%"}, [pod("a", ref=owner("StatefulSet", "db", "uid-sts"))],
     (3, 0, [])),
    ({"minAvailable": "100%"}, [pod("a", ref=owner("ReplicaSet", "lone", "uid-lone")),
                                pod("b", ref=owner("ReplicationController", "old", "uid-rc",
                                                   "v1"))], (6, 6, [])),
    # pods without a controller are unmanaged: warned about, left out
    ({"maxUnavailable": 1}, [pod("a", ref=BY_RS1), pod("bare")], (5, 4, ["bare"])),
    # a custom resource with a scale subresource (upstream's getScaleController)
    ({"maxUnavailable": "50%"}, [pod("a", ref=owner("CronTab", "ct", "uid-ct",
                                                    "stable.example.com/v1"))], (4, 2, [])),
    ({"maxUnavailable": 0}, [pod("bare")], (0, 0, ["bare"])),
    # neither bound (policy/v1 has no default): nothing expected
    ({}, [pod("a")], (0, 0, [])),
])
def test_expected_pod_count(spec: dict[str, Any], pods: list[dict[str, Any]],
                            expected: tuple[int, int, list[str]]) -> None:
    assert expected_pod_count(pdb(**spec), pods, ALL) == expected


@pytest.mark.parametrize(("ref", "message"), [
    (owner("DaemonSet", "ds", "uid-ds"), "daemonsets.apps does not implement the scale "
                                         "subresource"),
    (owner("Job", "j", "uid-j", "batch/v1"), "jobs.batch does not implement the scale "
                                             "subresource"),
    (owner("Widget", "w", "uid-w", "example.com/v1"),
     'no matches for kind "Widget" in version "example.com/v1"'),
    (owner("ReplicaSet", "gone", "uid-gone"), 'found no controllers for pod "a"'),
    (owner("ReplicaSet", "web-1", "uid-other"), 'found no controllers for pod "a"'),  # uid
    (owner("CronTab", "ct", "uid-other", "stable.example.com/v1"),
     'found no controllers for pod "a"'),
    (owner("CronTab", "gone", "uid-gone", "stable.example.com/v1"),
     'found no controllers for pod "a"'),
])
def test_expected_count_errors(ref: dict[str, Any], message: str) -> None:
    with pytest.raises(ExpectedCountError, match=message):
        expected_pod_count(pdb(maxUnavailable=1), [pod("a", ref=ref)], ALL)


def test_disrupted_pods_expire_after_two_minutes() -> None:
    budget = pdb(status={"disruptedPods": {"fresh": ago(30), "old": ago(121), "gone": ago(5),
                                           "deleting": ago(5)}})
    pods = [pod("fresh"), pod("old"), pod("deleting", deleting=True), pod("other")]
    kept, recheck, expired = disrupted_pod_map(budget, pods, NOW)
    assert kept == {"fresh": ago(30)}
    assert recheck == NOW + dt.timedelta(seconds=90)
    assert [p["metadata"]["name"] for p in expired] == ["old"]


def test_count_healthy() -> None:
    pods = [pod("a"), pod("b", ready=False), pod("c", deleting=True), pod("d"), pod("e")]
    assert count_healthy(pods, {"d": ago(10), "e": ago(200)}, NOW) == 2  # a and e


def status_of(decided: Any) -> dict[str, Any]:
    assert decided.status is not None
    return {k: v for k, v in decided.status.items() if k != "conditions"}


def condition_of(decided: Any) -> tuple[str, str, str]:
    (condition,) = decided.status["conditions"]
    return condition["status"], condition["reason"], condition["message"]


def test_plan_three_ready_min_available_two() -> None:
    decided = plan(pdb(minAvailable=2), [pod("a"), pod("b"), pod("c")], ALL, NOW)
    assert status_of(decided) == {"currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3,
                                  "disruptionsAllowed": 1, "observedGeneration": 1}
    assert condition_of(decided) == ("True", "SufficientPods", "")
    assert decided.events == []


def test_plan_an_eviction_in_flight_counts_as_gone() -> None:
    budget = pdb(minAvailable=2, status={"disruptedPods": {"a": ago(3)}})
    decided = plan(budget, [pod("a"), pod("b"), pod("c")], ALL, NOW)
    assert status_of(decided) == {"currentHealthy": 2, "desiredHealthy": 2, "expectedPods": 3,
                                  "disruptionsAllowed": 0, "observedGeneration": 1,
                                  "disruptedPods": {"a": ago(3)}}
    assert condition_of(decided) == ("False", "InsufficientPods", "")
    assert decided.recheck == NOW + dt.timedelta(seconds=117)


def test_plan_no_pods_allows_nothing_and_says_so() -> None:
    decided = plan(pdb(maxUnavailable=1), [], ALL, NOW)
    assert status_of(decided)["disruptionsAllowed"] == 0  # expectedPods 0: never allowed
    assert [(e.reason, e.message) for e in decided.events] == [
        ("NoPods", "No matching pods found")]


def test_plan_up_to_date_writes_nothing() -> None:
    first = plan(pdb(minAvailable=1), [pod("a"), pod("b")], ALL, NOW)
    assert first.status is not None
    again = plan(pdb(minAvailable=1, status=first.status), [pod("a"), pod("b")], ALL,
                 NOW + dt.timedelta(seconds=5))
    assert again.status is None
    # a new generation (the spec changed) is written even when the counts are the same
    moved = plan(pdb(minAvailable=1, status=first.status, generation=2), [pod("a"), pod("b")],
                 ALL, NOW)
    assert moved.status is not None and moved.status["observedGeneration"] == 2
    assert moved.status["conditions"][0]["observedGeneration"] == 2


def test_condition_transition_time_moves_only_with_its_status() -> None:
    first = plan(pdb(minAvailable=1), [pod("a"), pod("b")], ALL, NOW)
    assert first.status is not None
    later = NOW + dt.timedelta(seconds=30)
    fewer = plan(pdb(minAvailable=1, status=first.status), [pod("a"), pod("b"), pod("c")], ALL,
                 later)
    assert fewer.status is not None
    assert fewer.status["conditions"][0]["lastTransitionTime"] == format_time(NOW)
    blocked = plan(pdb(minAvailable=3, status=first.status), [pod("a"), pod("b")], ALL, later)
    assert blocked.status is not None
    assert blocked.status["conditions"][0]["lastTransitionTime"] == format_time(later)


def test_plan_fail_safe() -> None:
    good = plan(pdb(maxUnavailable=4), [pod("a", ref=BY_RS1), pod("b", ref=BY_RS1)], ALL, NOW)
    assert good.status is not None and good.status["disruptionsAllowed"] == 1
    ds = owner("DaemonSet", "ds", "uid-ds")
    failed = plan(pdb(maxUnavailable=4, status=good.status), [pod("a", ref=ds)], ALL, NOW)
    assert failed.status is not None
    assert failed.status["disruptionsAllowed"] == 0
    assert failed.status["currentHealthy"] == good.status["currentHealthy"]  # rest kept
    assert condition_of(failed) == ("False", "SyncFailed",
                                    "daemonsets.apps does not implement the scale subresource")
    assert [(e.reason, e.message) for e in failed.events] == [
        ("CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: "
         "daemonsets.apps does not implement the scale subresource")]


def test_plan_warns_about_unmanaged_pods_and_undeleted_ones() -> None:
    budget = pdb(maxUnavailable=1, status={"disruptedPods": {"b": ago(500)}})
    decided = plan(budget, [pod("a", ref=BY_RS1), pod("b")], ALL, NOW)
    assert [(e.kind, e.reason, e.message) for e in decided.events] == [
        ("PodDisruptionBudget", "UnmanagedPods",
         "Pods selected by this PodDisruptionBudget (selector: &LabelSelector{MatchLabels:"
         "map[string]string{app: web,},MatchExpressions:[]LabelSelectorRequirement{},}) were "
         "found to be unmanaged. As a result, the status of the PDB cannot be calculated "
         "correctly, which may result in undefined behavior. To account for these pods please "
         'set ".spec.minAvailable" field of the PDB to an integer value.'),
        ("Pod", "NotDeleted", "Pod was expected by PDB default/default to be deleted but it "
                              "wasn't")]
    assert decided.status is not None and "disruptedPods" not in decided.status


def test_multiple_budgets_event() -> None:
    other = {**pdb(), "metadata": {**pdb()["metadata"], "name": "other"}}
    assert multiple_budgets_event(pod("a"), [pdb()]) is None
    event = multiple_budgets_event(pod("a"), [pdb(), other])
    assert event is not None and (event.reason, event.message) == (
        "MultiplePodDisruptionBudgets",
        'Pod "default"/"a" matches multiple PodDisruptionBudgets.  Chose "web" arbitrarily.')


@pytest.mark.parametrize(("condition", "deleting", "phase", "expected"), [
    ({"status": "True", "reason": "EvictionByEvictionAPI", "lastTransitionTime": ago(30)},
     False, "Running", dt.timedelta(seconds=90)),
    ({"status": "True", "reason": "EvictionByEvictionAPI", "lastTransitionTime": ago(300)},
     False, "Running", dt.timedelta(0)),
    ({"status": "True", "reason": "EvictionByEvictionAPI", "lastTransitionTime": ago(300)},
     True, "Running", None),  # being deleted: not stale
    ({"status": "True", "reason": "PreemptionByScheduler", "lastTransitionTime": ago(300)},
     False, "Failed", None),  # finished
    ({"status": "True", "reason": "TerminationByKubelet", "lastTransitionTime": ago(300)},
     False, "Running", None),  # the kubelet's own
    ({"status": "False", "lastTransitionTime": ago(300)}, False, "Running", None),
    (None, False, "Running", None),
])
def test_stale_disruption_target(condition: dict[str, Any] | None, deleting: bool, phase: str,
                                 expected: dt.timedelta | None) -> None:
    subject = pod("a", deleting=deleting, phase=phase)
    if condition is not None:
        subject["status"]["conditions"].append({"type": "DisruptionTarget", **condition})
    assert stale_disruption_target(subject, NOW) == expected
