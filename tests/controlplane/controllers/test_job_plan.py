"""The Job controller's plan and the TTL-after-finished expiry, against upstream's rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nodelab.controlplane.controllers.batch.job_plan import plan_job
from nodelab.controlplane.controllers.batch.job_pods import (
    FINALIZER,
    INDEX_KEY,
    backoff_remaining,
    format_indexes,
    parse_indexes,
)
from nodelab.controlplane.controllers.batch.ttlafterfinished import expiry
from nodelab.controlplane.controllers.workloads.conditions import status_patch
from nodelab.kubewire.times import format_time

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


def ago(seconds: float) -> str:
    return format_time(NOW - dt.timedelta(seconds=seconds))


def job(**spec: Any) -> dict[str, Any]:
    status = spec.pop("status", {})
    full = {"parallelism": 1, "completions": 1, "backoffLimit": 6,
            "completionMode": "NonIndexed",
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "j-uid"}},
            "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": "j-uid",
                                                 "batch.kubernetes.io/job-name": "pi"}},
                         "spec": {"restartPolicy": "Never",
                                  "containers": [{"name": "c", "image": "busybox"}]}}}
    full.update(spec)
    return {"metadata": {"name": "pi", "namespace": "default", "uid": "j-uid"},
            "spec": full, "status": status}


def pod(name: str, phase: str = "Running", *, finalizer: bool = True, finished: float = 60,
        exit_code: int | None = None, index: int | None = None, deleting: bool = False,
        ready: bool = False, restarts: int = 0) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name, "namespace": "default", "uid": f"uid-{name}",
        "creationTimestamp": ago(600),
        "ownerReferences": [{"kind": "Job", "uid": "j-uid", "controller": True}],
        "finalizers": [FINALIZER] if finalizer else []}
    if index is not None:
        metadata["annotations"] = {INDEX_KEY: str(index)}
    if deleting:
        metadata["deletionTimestamp"] = ago(0)
    state: dict[str, Any] = {"running": {}}
    if phase in ("Succeeded", "Failed"):
        code = exit_code if exit_code is not None else (0 if phase == "Succeeded" else 1)
        state = {"terminated": {"exitCode": code, "finishedAt": ago(finished)}}
    return {"metadata": metadata, "spec": {"nodeName": "node1"},
            "status": {"phase": phase, "containerStatuses": [
                {"name": "c", "state": state, "restartCount": restarts}],
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c.get("reason", "")) for c in status.get("conditions", [])}


def test_a_new_job_creates_tracked_pods_from_its_template() -> None:
    plan = plan_job(job(parallelism=2, completions=3), [], NOW)
    assert len(plan.create) == 2
    created = plan.create[0]
    assert created["metadata"]["generateName"] == "pi-"
    assert created["metadata"]["finalizers"] == [FINALIZER]
    assert created["metadata"]["ownerReferences"][0]["kind"] == "Job"
    assert created["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "pi"
    assert plan.status["startTime"] == format_time(NOW)
    assert plan.status["active"] == 2 and plan.status["ready"] == 0
    assert "succeeded" not in plan.status  # omitempty, as upstream


def test_a_finished_pod_is_recorded_before_its_finalizer_goes_then_counted() -> None:
    spec = {"parallelism": 2, "completions": 3, "status": {"startTime": ago(100)}}
    pods = [pod("a", "Succeeded"), pod("b", ready=True)]
    plan = plan_job(job(**spec), pods, NOW)
    assert plan.status["uncountedTerminatedPods"] == {"succeeded": ["uid-a"]}
    assert plan.remove_finalizers == ["a"]
    assert len(plan.create) == 1  # min(parallelism, completions - succeeded) - active
    assert plan.status["active"] == 2 and plan.status["ready"] == 1
    spec["status"] = plan.status
    pods[0]["metadata"]["finalizers"] = []
    again = plan_job(job(**spec), pods, NOW)
    assert again.status["succeeded"] == 1
    assert again.status["uncountedTerminatedPods"] == {}
    assert again.remove_finalizers == []


def test_enough_successes_add_success_criteria_met_then_complete() -> None:
    pods = [pod("a", "Succeeded")]
    first = plan_job(job(status={"startTime": ago(30)}), pods, NOW)
    assert conditions(first.status) == {"SuccessCriteriaMet": ("True", "CompletionsReached")}
    assert "Complete" not in conditions(first.status)  # the pod is not counted yet
    pods[0]["metadata"]["finalizers"] = []
    second = plan_job(job(status=first.status), pods, NOW)
    assert conditions(second.status)["Complete"] == ("True", "CompletionsReached")
    assert second.status["completionTime"] == format_time(NOW)
    assert second.status["succeeded"] == 1
    assert ("Normal", "Completed", "Job completed") in second.events
    assert second.create == []


def test_failures_past_the_backoff_limit_fail_the_job_and_delete_its_pods() -> None:
    pods = [pod("a", "Failed", finished=300), pod("b", "Failed", finished=200),
            pod("c", ready=True)]
    first = plan_job(job(backoffLimit=1, parallelism=1, status={"startTime": ago(400)}),
                     pods, NOW)
    assert conditions(first.status)["FailureTarget"] == ("True", "BackoffLimitExceeded")
    assert first.delete == ["c"]
    assert sorted(first.status["uncountedTerminatedPods"]["failed"]) == [
        "uid-a", "uid-b", "uid-c"]
    assert "Failed" not in conditions(first.status)
    for p in pods:
        p["metadata"]["finalizers"] = []
    gone = pods[:2]  # c finished terminating
    second = plan_job(job(backoffLimit=1, status=first.status), gone, NOW)
    assert conditions(second.status)["Failed"] == ("True", "BackoffLimitExceeded")
    assert second.status["failed"] == 3
    assert ("Warning", "BackoffLimitExceeded",
            "Job has reached the specified backoff limit") in second.events


@pytest.mark.parametrize(("failures", "last_ago", "wait"), [
    (1, 4, 6), (1, 11, 0), (2, 5, 15), (3, 5, 35), (10, 5, 595),
])
def test_replacements_wait_out_the_exponential_backoff(failures: int, last_ago: float,
                                                       wait: float) -> None:
    failed = [pod(f"f{i}", "Failed", finished=last_ago + i) for i in range(failures)]
    assert backoff_remaining([], failed, NOW) == dt.timedelta(seconds=wait)
    plan = plan_job(job(status={"startTime": ago(900)}), failed, NOW)
    assert len(plan.create) == (0 if wait else 1)


def test_a_success_resets_the_backoff() -> None:
    failed = [pod("f", "Failed", finished=5)]
    assert backoff_remaining([pod("s", "Succeeded", finished=8)], failed, NOW) > dt.timedelta(0)
    assert backoff_remaining([pod("s", "Succeeded", finished=2)], failed, NOW) == dt.timedelta(0)


def test_active_deadline_fails_the_job() -> None:
    plan = plan_job(job(activeDeadlineSeconds=10, status={"startTime": ago(11)}),
                    [pod("a", ready=True)], NOW)
    assert conditions(plan.status)["FailureTarget"] == ("True", "DeadlineExceeded")
    assert plan.delete == ["a"] and plan.create == []


def test_pod_failure_policy_fail_job_ignore_and_count() -> None:
    policy = {"rules": [
        {"action": "FailJob", "onExitCodes": {"containerName": "c", "operator": "In",
                                              "values": [42]}},
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget",
                                                  "status": "True"}]}]}
    failing = plan_job(job(podFailurePolicy=policy, status={"startTime": ago(60)}),
                       [pod("a", "Failed", exit_code=42)], NOW)
    target = next(c for c in failing.status["conditions"] if c["type"] == "FailureTarget")
    assert target["reason"] == "PodFailurePolicy"
    assert target["message"] == ("Container c for pod default/a failed with exit code 42 "
                                 "matching FailJob rule at index 0")
    disrupted = pod("b", "Failed", finished=100)
    disrupted["status"]["conditions"].append({"type": "DisruptionTarget", "status": "True"})
    ignored = plan_job(job(podFailurePolicy=policy, backoffLimit=0,
                           status={"startTime": ago(200)}), [disrupted], NOW)
    assert "FailureTarget" not in conditions(ignored.status)
    assert ignored.status["uncountedTerminatedPods"] == {}  # not counted
    assert ignored.remove_finalizers == ["b"] and len(ignored.create) == 1
    counted = plan_job(job(podFailurePolicy=policy, backoffLimit=0,
                           status={"startTime": ago(200)}), [pod("c", "Failed")], NOW)
    assert conditions(counted.status)["FailureTarget"][1] == "BackoffLimitExceeded"


def test_indexed_job_pods_carry_their_index() -> None:
    plan = plan_job(job(completionMode="Indexed", completions=4, parallelism=2,
                        status={"startTime": ago(5), "completedIndexes": "0"}),
                    [pod("pi-1-x", index=1)], NOW)
    assert [p["metadata"]["generateName"] for p in plan.create] == ["pi-2-"]
    created = plan.create[0]
    assert created["metadata"]["annotations"][INDEX_KEY] == "2"
    assert created["metadata"]["labels"][INDEX_KEY] == "2"
    assert created["spec"]["hostname"] == "pi-2"
    env = created["spec"]["containers"][0]["env"]
    assert env == [{"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
        "apiVersion": "v1", "fieldPath": f"metadata.annotations['{INDEX_KEY}']"}}}]
    done = plan_job(job(completionMode="Indexed", completions=4, parallelism=2,
                        status={"startTime": ago(5), "completedIndexes": "0,2"}),
                    [pod("pi-1-x", "Succeeded", index=1), pod("pi-3-y", index=3),
                     pod("pi-3-z", index=3)], NOW)
    assert done.status["completedIndexes"] == "0-2"
    assert done.status["succeeded"] == 3 and "uncountedTerminatedPods" in done.status
    assert len(done.discard) == 1 and done.create == []  # a duplicate of index 3 goes


def test_suspend_deletes_active_pods_uncounted_and_resume_restarts_the_clock() -> None:
    suspended = plan_job(job(suspend=True, status={"startTime": ago(60)}),
                         [pod("a", ready=True)], NOW)
    assert suspended.discard == ["a"] and suspended.delete == []
    assert conditions(suspended.status)["Suspended"] == ("True", "JobSuspended")
    # said before the status write, as upstream's syncJob
    assert suspended.events_before_status == [("Normal", "Suspended", "Job suspended")]
    assert suspended.events == []
    resumed = plan_job(job(status=suspended.status), [], NOW)
    assert conditions(resumed.status)["Suspended"] == ("False", "JobResumed")
    assert resumed.events_before_status == [("Normal", "Resumed", "Job resumed")]
    assert resumed.status["startTime"] == format_time(NOW) and len(resumed.create) == 1


def test_on_failure_restarts_count_against_the_backoff_limit() -> None:
    spec = job(backoffLimit=2, status={"startTime": ago(60)})
    spec["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    plan = plan_job(spec, [pod("a", restarts=2)], NOW)
    assert conditions(plan.status)["FailureTarget"][1] == "BackoffLimitExceeded"


def test_without_completions_the_first_success_stops_new_pods() -> None:
    spec = {"completions": None, "parallelism": 3,
            "status": {"startTime": ago(60), "succeeded": 1}}
    plan = plan_job(job(**spec), [pod("a", "Succeeded", finalizer=False), pod("b")], NOW)
    assert plan.create == [] and "SuccessCriteriaMet" not in conditions(plan.status)


def test_a_finished_job_lets_go_of_every_pod() -> None:
    status = {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}
    plan = plan_job(job(status=status), [pod("a", "Succeeded")], NOW)
    assert plan.remove_finalizers == ["a"] and plan.create == []


@pytest.mark.parametrize(("text", "indexes", "again"), [
    ("", set(), ""), ("0", {0}, "0"), ("0-2,5", {0, 1, 2, 5}, "0-2,5"),
    ("1,2,3,7-8", {1, 2, 3, 7, 8}, "1-3,7-8"), ("3-9", {3, 4}, "3-4"),
])
def test_completed_indexes_as_intervals(text: str, indexes: set[int], again: str) -> None:
    assert parse_indexes(text, 5 if text == "3-9" else 10) == indexes
    assert format_indexes(indexes) == again


def test_ttl_after_finished_counts_from_the_finish() -> None:
    finished = {"conditions": [{"type": "Complete", "status": "True",
                                "lastTransitionTime": ago(50)}], "completionTime": ago(40)}
    assert expiry(job(ttlSecondsAfterFinished=30, status=finished)) == NOW - dt.timedelta(
        seconds=10)
    assert expiry(job(status=finished)) is None
    assert expiry(job(ttlSecondsAfterFinished=30, status={})) is None


@pytest.mark.parametrize(("current", "wanted", "patch"), [
    ({"a": 1}, {"a": 1}, None),
    ({"active": 1, "ready": 1}, {"ready": 0}, {"active": None, "ready": 0}),
    ({"uncountedTerminatedPods": {"succeeded": ["u"]}}, {"uncountedTerminatedPods": {}},
     {"uncountedTerminatedPods": {"succeeded": None}}),
    ({}, {"uncountedTerminatedPods": {}}, {"uncountedTerminatedPods": {}}),
])
def test_status_patches_remove_what_went_away(current: dict[str, Any], wanted: dict[str, Any],
                                              patch: dict[str, Any] | None) -> None:
    assert status_patch(current, wanted) == patch
