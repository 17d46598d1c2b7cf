"""Jobs: which pods to create and delete, which finished pods to count, and the status
(upstream's pkg/controller/job `syncJob`, `manageJob` and `trackJobStatusAndRemoveFinalizers`).

- **Counting with finalizers.** A finished pod that still has the job-tracking finalizer is
  first recorded by uid in `status.uncountedTerminatedPods` (written before anything else),
  then loses its finalizer; the next sync moves uids whose pods no longer hold the finalizer
  into `succeeded`/`failed`. An Indexed Job counts successes by index (`completedIndexes`).
  A pod being deleted before it finished counts as failed (`podReplacementPolicy:
  TerminatingOrFailed`, the default without a podFailurePolicy), else only phase Failed does.
- **Pods.** Active = neither finished nor being deleted. With `completions` set, the Job wants
  min(parallelism, completions - succeeded) active pods; without it, `parallelism` until a
  first success, then no new ones. Extra pods go in the ReplicaSet's order; replacements wait
  out the failure back-off (job_pods.py). Indexed Jobs create the lowest missing indexes.
- **Finishing.** `failed > backoffLimit` (or, for restartPolicy OnFailure, container restarts
  reaching it), `activeDeadlineSeconds` passed, or a podFailurePolicy `FailJob` match add
  `FailureTarget` and delete the active pods; enough successes add `SuccessCriteriaMet`. The
  terminal `Failed`/`Complete` condition (same reason and message) follows once nothing is
  uncounted and no pod is terminating, with `completionTime` for Complete, as 1.37 does.
- **Suspend** deletes the active pods (without counting them) and sets `Suspended`; resuming
  sets it False and restarts `startTime`.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nodelab.controlplane.controllers.batch.job_failure_policy import match_failure_policy
from nodelab.controlplane.controllers.batch.job_pods import (
    backoff_remaining,
    completion_index,
    format_indexes,
    has_finalizer,
    is_indexed,
    job_pods,
    parse_indexes,
    pod_for_job,
)
from nodelab.controlplane.controllers.workloads.conditions import (
    find_condition,
    is_true,
    set_condition,
)
from nodelab.controlplane.controllers.workloads.replicaset_plan import deletion_rank
from nodelab.kube.objects import ObjectView, pod_ready
from nodelab.kubewire.times import format_time, parse_time

BURST = 500
FINISHED = ("Succeeded", "Failed")
BACKOFF_MESSAGE = "Job has reached the specified backoff limit"
DEADLINE_MESSAGE = "Job was active longer than specified deadline"
SUCCESS_REASON, SUCCESS_MESSAGE = "CompletionsReached", "Reached expected number of succeeded pods"


@dataclass
class JobPlan:
    create: list[dict[str, Any]] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)  # deleted, still counted (finalizer kept)
    discard: list[str] = field(default_factory=list)  # finalizer removed, then deleted
    remove_finalizers: list[str] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    # type, reason, message; said before the status write (syncJob's Suspended, Resumed) or
    # after it (trackJobStatusAndRemoveFinalizers' recordJobFinished), in upstream's order
    events_before_status: list[tuple[str, str, str]] = field(default_factory=list)
    events: list[tuple[str, str, str]] = field(default_factory=list)


def _name(pod: ObjectView) -> str:
    return str(pod["metadata"]["name"])


def _uid(pod: ObjectView) -> str:
    return str(pod["metadata"].get("uid"))


def _phase(pod: ObjectView) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def _deleting(pod: ObjectView) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def _restarts(pod: ObjectView) -> int:
    status = pod.get("status") or {}
    return sum(int(c.get("restartCount") or 0) for c in (status.get(
        "initContainerStatuses") or []) + (status.get("containerStatuses") or []))


def plan_job(job: ObjectView, pods: Sequence[ObjectView], now: dt.datetime) -> JobPlan:
    spec, old = job.get("spec") or {}, job.get("status") or {}
    stamp = format_time(now)
    plan = JobPlan()
    status: dict[str, Any] = copy.deepcopy(dict(old))
    conditions: list[dict[str, Any]] = status.setdefault("conditions", [])
    mine = job_pods(job, pods)
    indexed = is_indexed(job)
    completions = spec.get("completions")
    limit = int(completions) if completions is not None else 0

    # 1. uids whose pods let go of the finalizer are counted now
    tracked = {_uid(p) for p in mine if has_finalizer(p)}
    uncounted = status.get("uncountedTerminatedPods") or {}
    uncounted = {k: list(uncounted.get(k) or []) for k in ("succeeded", "failed")}
    for kind in ("succeeded", "failed"):
        kept = [u for u in uncounted[kind] if u in tracked]
        status[kind] = int(status.get(kind) or 0) + len(uncounted[kind]) - len(kept)
        uncounted[kind] = kept
    seen = set(uncounted["succeeded"]) | set(uncounted["failed"])

    finished = is_true(old, "Complete") or is_true(old, "Failed")
    if finished or (job.get("metadata") or {}).get("deletionTimestamp"):
        plan.remove_finalizers = [_name(p) for p in mine if has_finalizer(p)]
        plan.status = _finish_status(status, uncounted, mine)
        return plan

    only_failed = spec.get("podReplacementPolicy") == "Failed" or bool(
        spec.get("podFailurePolicy"))
    policy = spec.get("podFailurePolicy")

    def failed(pod: ObjectView) -> bool:
        if _phase(pod) == "Failed":
            return True
        return not only_failed and _deleting(pod) and _phase(pod) != "Succeeded"

    active = [p for p in mine if _phase(p) not in FINISHED and not _deleting(p)]
    terminating = [p for p in mine if _phase(p) not in FINISHED and _deleting(p)]
    succeeded_pods = [p for p in mine if _phase(p) == "Succeeded"]
    failed_pods = [p for p in mine if failed(p)]

    # 2. finished pods still holding the finalizer: record them, then let them go
    succeeded_indexes = parse_indexes(status.get("completedIndexes"), limit) if indexed else set()
    fail_job = None
    for pod in succeeded_pods:
        if not has_finalizer(pod) or _uid(pod) in seen:
            continue
        plan.remove_finalizers.append(_name(pod))
        if indexed:
            index = completion_index(pod)
            if index is not None and index < limit:
                succeeded_indexes.add(index)
        else:
            uncounted["succeeded"].append(_uid(pod))
    for pod in failed_pods:
        match = match_failure_policy(policy, pod)
        if match is not None and match.action == "FailJob" and fail_job is None:
            fail_job = match.message
        if not has_finalizer(pod) or _uid(pod) in seen:
            continue
        plan.remove_finalizers.append(_name(pod))
        if match is None or match.action != "Ignore":
            uncounted["failed"].append(_uid(pod))

    succeeded = len(succeeded_indexes) if indexed else int(status["succeeded"]) + len(
        uncounted["succeeded"])
    failed_total = int(status["failed"]) + len(uncounted["failed"])
    suspended = bool(spec.get("suspend"))
    start = parse_time(status.get("startTime"))

    # 3. is the Job done?
    target = find_condition(old, "FailureTarget") or find_condition(old, "SuccessCriteriaMet")
    if target is not None and target.get("status") != "True":
        target = None
    if target is None:
        reason = message = ""
        if fail_job is not None:
            reason, message = "PodFailurePolicy", fail_job
        elif failed_total > int(spec.get("backoffLimit", 6)) or _past_backoff_on_failure(
                spec, active):
            reason, message = "BackoffLimitExceeded", BACKOFF_MESSAGE
        elif _past_deadline(spec, start, now, suspended):
            reason, message = "DeadlineExceeded", DEADLINE_MESSAGE
        if reason:
            set_condition(conditions, "FailureTarget", "True", reason, message, stamp)
            target = find_condition({"conditions": conditions}, "FailureTarget")
    failing = target is not None and target["type"] == "FailureTarget"

    if failing:
        for pod in active:
            plan.delete.append(_name(pod))
            if has_finalizer(pod) and _uid(pod) not in seen:
                uncounted["failed"].append(_uid(pod))
                plan.remove_finalizers.append(_name(pod))
        terminating = terminating + active
        active = []
    elif target is None and suspended:
        plan.discard = [_name(p) for p in active]
        active = []
        if set_condition(conditions, "Suspended", "True", "JobSuspended", "Job suspended",
                         stamp):
            plan.events_before_status.append(("Normal", "Suspended", "Job suspended"))
    elif target is None:
        if is_true(old, "Suspended"):
            set_condition(conditions, "Suspended", "False", "JobResumed", "Job resumed", stamp)
            plan.events_before_status.append(("Normal", "Resumed", "Job resumed"))
            status["startTime"] = stamp
        status.setdefault("startTime", stamp)
        active = _manage(job, plan, active, succeeded, succeeded_indexes, succeeded_pods,
                         failed_pods, terminating if only_failed else [], now)
        done = (succeeded > 0 if completions is None else succeeded >= limit) and not active
        if done:
            set_condition(conditions, "SuccessCriteriaMet", "True", SUCCESS_REASON,
                          SUCCESS_MESSAGE, stamp)
            target = find_condition({"conditions": conditions}, "SuccessCriteriaMet")

    # 4. the terminal condition once everything is counted and gone
    if target is not None and not uncounted["succeeded"] and not uncounted["failed"] \
            and not terminating and not plan.remove_finalizers:
        final = "Failed" if failing else "Complete"
        set_condition(conditions, final, "True", str(target.get("reason") or ""),
                      str(target.get("message") or ""), stamp)
        if final == "Complete":
            status["completionTime"] = stamp
            plan.events.append(("Normal", "Completed", "Job completed"))
        else:
            plan.events.append(("Warning", str(target.get("reason")),
                                str(target.get("message"))))
    if indexed:
        status["completedIndexes"] = format_indexes(succeeded_indexes)
        status["succeeded"] = len(succeeded_indexes)
    status["active"] = len(active) + len(plan.create)  # as manageJob counts its creations
    status["ready"] = sum(1 for p in active if pod_ready(p))
    status["terminating"] = len(terminating)
    status["uncountedTerminatedPods"] = {k: v for k, v in uncounted.items() if v}
    plan.status = _omit_empty(status)
    return plan


def _manage(job: ObjectView, plan: JobPlan, active: list[ObjectView], succeeded: int,
            succeeded_indexes: set[int], succeeded_pods: list[ObjectView],
            failed_pods: list[ObjectView],
            waiting_for: list[ObjectView], now: dt.datetime) -> list[ObjectView]:
    """Create or delete pods toward the wanted number of active ones; the active pods left."""
    spec = job.get("spec") or {}
    parallelism = int(spec.get("parallelism", 1))
    completions = spec.get("completions")
    if completions is None:
        want = len(active) if succeeded > 0 else parallelism
    else:
        want = max(min(int(completions) - succeeded, parallelism), 0)
    keep = active
    if is_indexed(job):
        keep, extra = _index_duplicates(active, int(completions or 0), succeeded_indexes)
        plan.discard.extend(_name(p) for p in extra)
    if len(keep) > want:
        extra = sorted(keep, key=deletion_rank)[: len(keep) - want]
        plan.discard.extend(_name(p) for p in extra)
        keep = [p for p in keep if p not in extra]
    missing = want - len(keep) - len(waiting_for)
    if missing <= 0 or backoff_remaining(succeeded_pods, failed_pods, now) > dt.timedelta(0):
        return keep
    missing = min(missing, BURST)
    if is_indexed(job):
        taken = succeeded_indexes | {completion_index(p) for p in keep}
        free = [i for i in range(int(completions or 0)) if i not in taken]
        plan.create = [pod_for_job(job, i) for i in free[:missing]]
    else:
        plan.create = [pod_for_job(job, None) for _ in range(missing)]
    return keep


def _index_duplicates(active: list[ObjectView], completions: int,
                      succeeded: set[int]) -> tuple[list[ObjectView], list[ObjectView]]:
    """Active pods to keep (one per open index) and the extras (duplicates, out of range,
    indexes that already succeeded)."""
    keep: dict[int, ObjectView] = {}
    extra: list[ObjectView] = []
    for pod in sorted(active, key=deletion_rank, reverse=True):
        index = completion_index(pod)
        if index is None or index >= completions or index in succeeded or index in keep:
            extra.append(pod)
        else:
            keep[index] = pod
    return list(keep.values()), extra


def _past_backoff_on_failure(spec: ObjectView, active: list[ObjectView]) -> bool:
    template = (spec.get("template") or {}).get("spec") or {}
    if template.get("restartPolicy") != "OnFailure":
        return False
    limit = int(spec.get("backoffLimit", 6))
    restarts = sum(_restarts(p) for p in active if _phase(p) in ("Running", "Pending"))
    return restarts > 0 if limit == 0 else restarts >= limit


def _past_deadline(spec: ObjectView, start: dt.datetime | None, now: dt.datetime,
                   suspended: bool) -> bool:
    seconds = spec.get("activeDeadlineSeconds")
    if seconds is None or start is None or suspended:
        return False
    return now - start >= dt.timedelta(seconds=int(seconds))


def _finish_status(status: dict[str, Any], uncounted: dict[str, list[str]],
                   mine: list[ObjectView]) -> dict[str, Any]:
    status["active"] = 0
    status["ready"] = 0
    status["terminating"] = sum(1 for p in mine if _deleting(p) and _phase(p) not in FINISHED)
    status["uncountedTerminatedPods"] = {k: v for k, v in uncounted.items() if v}
    return _omit_empty(status)


def _omit_empty(status: dict[str, Any]) -> dict[str, Any]:
    """Go's `omitempty`: zero counters and empty strings/lists are left out (ready,
    terminating and uncountedTerminatedPods are pointers upstream, so they stay)."""
    return {k: v for k, v in status.items()
            if k in ("ready", "terminating", "uncountedTerminatedPods")
            or v not in (0, "", [], None)}
