"""CronJobs: when to start a Job, what to do with the ones running, and which finished ones to
keep (upstream's pkg/controller/cronjob `syncCronJob`, `mostRecentScheduleTime`,
`getJobFromTemplate2` and `cleanupFinishedJobs`). Schedules are standard cron (5 fields or a
`@hourly`-style descriptor) read by croniter, in `timeZone` or the controller's own zone.

- **When.** The most recent scheduled time after `lastScheduleTime` (or the CronJob's creation)
  and not after now is due; older missed ones are skipped (more than 100 missed: a
  `TooManyMissedTimes` warning). With `startingDeadlineSeconds`, a time more than that long ago
  is missed (`MissSchedule`) and only times within it are looked at.
- **Concurrency.** `Allow` starts the Job anyway, `Forbid` waits (`JobAlreadyActive`) while one
  is running, `Replace` deletes the running ones first. `suspend` starts nothing.
- **The Job** is named `<cronjob>-<scheduled time in minutes since the epoch>` (so one time
  never makes two Jobs), carries the template's labels and annotations plus
  `batch.kubernetes.io/cronjob-scheduled-timestamp`, and is owned by the CronJob.
- **Status.** `active` lists the running Jobs (finished ones leave with `SawCompletedJob`,
  vanished ones with `MissingJob`; an unfinished Job the CronJob owns but did not list gets
  `UnexpectedJob`), `lastScheduleTime`, `lastSuccessfulTime`.
- **History.** Finished Jobs beyond `successfulJobsHistoryLimit` (3) and
  `failedJobsHistoryLimit` (1) are deleted, oldest first.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from nodelab.controlplane.controllers.workloads.conditions import is_true
from nodelab.controlplane.controllers.workloads.replicaset_plan import owned_by, owner_reference
from nodelab.kube.objects import ObjectView
from nodelab.kubewire.times import format_time, parse_time

SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
TOO_MANY_MISSED = 100


@dataclass
class CronJobPlan:
    create: dict[str, Any] | None = None
    delete: list[str] = field(default_factory=list)  # Jobs, with their pods
    status: dict[str, Any] = field(default_factory=dict)
    # type, reason, message, and what the event is about (a controller says it once per key)
    events: list[tuple[str, str, str, str]] = field(default_factory=list)


def zone(cronjob: ObjectView, local: dt.tzinfo) -> dt.tzinfo:
    name = (cronjob.get("spec") or {}).get("timeZone")
    return ZoneInfo(name) if name else local


def finished(job: ObjectView) -> str | None:
    status = job.get("status") or {}
    for kind in ("Complete", "Failed"):
        if is_true(status, kind):
            return kind
    return None


def most_recent(schedule: str, earliest: dt.datetime, now: dt.datetime,
                tz: dt.tzinfo) -> tuple[dt.datetime | None, int]:
    """The latest scheduled time in (earliest, now], and how many there were (capped)."""
    local_now = now.astimezone(tz)
    recent: dt.datetime = croniter(schedule, local_now).get_prev(dt.datetime)
    on_minute = local_now.replace(second=0, microsecond=0)
    if croniter.match(schedule, on_minute) and on_minute <= local_now:
        recent = max(recent, on_minute)
    if recent <= earliest:
        return None, 0
    count = 0
    times = croniter(schedule, earliest.astimezone(tz))
    while count <= TOO_MANY_MISSED and times.get_next(dt.datetime) <= recent:
        count += 1
    return recent, count


def job_name(cronjob: ObjectView, scheduled: dt.datetime) -> str:
    return f"{cronjob['metadata']['name']}-{int(scheduled.timestamp()) // 60}"


def job_for(cronjob: ObjectView, scheduled: dt.datetime, tz: dt.tzinfo) -> dict[str, Any]:
    template = (cronjob.get("spec") or {}).get("jobTemplate") or {}
    metadata = template.get("metadata") or {}
    annotations = dict(metadata.get("annotations") or {})
    local = scheduled.astimezone(tz)
    annotations[SCHEDULED_ANNOTATION] = (format_time(local) if local.utcoffset() == dt.timedelta(0)
                                         else local.isoformat(timespec="seconds"))
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name(cronjob, scheduled),
                     "namespace": cronjob["metadata"]["namespace"],
                     "labels": dict(metadata.get("labels") or {}),
                     "annotations": annotations,
                     "ownerReferences": [owner_reference(cronjob, "CronJob", "batch/v1")]},
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


def reference(job: ObjectView) -> dict[str, Any]:
    metadata = job["metadata"]
    return {"kind": "Job", "namespace": metadata["namespace"], "name": metadata["name"],
            "uid": metadata.get("uid"), "apiVersion": "batch/v1",
            "resourceVersion": metadata.get("resourceVersion")}


def plan_cronjob(cronjob: ObjectView, jobs: Sequence[ObjectView], now: dt.datetime,
                 local: dt.tzinfo = dt.timezone.utc) -> CronJobPlan:
    spec, old = cronjob.get("spec") or {}, cronjob.get("status") or {}
    plan = CronJobPlan()
    status: dict[str, Any] = copy.deepcopy(dict(old))
    mine = {j["metadata"].get("uid"): j for j in jobs if owned_by(j, cronjob)}
    active = [ref for ref in old.get("active") or [] if ref.get("uid") in mine
              and not finished(mine[ref["uid"]])]
    for ref in old.get("active") or []:
        job = mine.get(ref.get("uid"))
        if job is None:
            plan.events.append(("Normal", "MissingJob", f"Active job went missing: "
                                                        f"{ref.get('name')}", ref.get("uid")))
        elif finished(job):
            plan.events.append(("Normal", "SawCompletedJob", f"Saw completed job: "
                                                             f"{ref.get('name')}, condition: "
                                                             f"{finished(job)}", ref["uid"]))
    listed = {ref.get("uid") for ref in old.get("active") or []}
    for uid, job in mine.items():
        if uid not in listed and not finished(job) and not job["metadata"].get(
                "deletionTimestamp"):
            plan.events.append(("Warning", "UnexpectedJob", "Saw a job that the controller did "
                                                            f"not create or forgot: "
                                                            f"{job['metadata']['name']}", uid))
    successes = [parse_time((j.get("status") or {}).get("completionTime"))
                 for j in mine.values() if finished(j) == "Complete"]
    last_success = max((t for t in successes if t is not None), default=None)
    if last_success is not None:
        status["lastSuccessfulTime"] = format_time(last_success)

    if not spec.get("suspend") and not cronjob["metadata"].get("deletionTimestamp"):
        active = _schedule(cronjob, plan, active, mine, now, local, status)
    status["active"] = active
    plan.delete.extend(_history(spec, list(mine.values())))
    plan.status = {k: v for k, v in status.items() if v not in (None, [])}
    return plan


def _schedule(cronjob: ObjectView, plan: CronJobPlan, active: list[dict[str, Any]],
              mine: Mapping[Any, ObjectView], now: dt.datetime, local: dt.tzinfo,
              status: dict[str, Any]) -> list[dict[str, Any]]:
    spec = cronjob.get("spec") or {}
    tz = zone(cronjob, local)
    earliest = parse_time(status.get("lastScheduleTime")) or parse_time(
        cronjob["metadata"].get("creationTimestamp")) or now
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None:
        earliest = max(earliest, now - dt.timedelta(seconds=int(deadline)))
    scheduled, missed = most_recent(str(spec.get("schedule")), earliest, now, tz)
    if scheduled is None:
        return active
    if missed > TOO_MANY_MISSED:
        plan.events.append(("Warning", "TooManyMissedTimes",
                            f"too many missed start times: {missed}. Set or decrease "
                            ".spec.startingDeadlineSeconds or check clock skew",
                            scheduled.isoformat()))
    if deadline is not None and scheduled + dt.timedelta(seconds=int(deadline)) < now:
        plan.events.append(("Warning", "MissSchedule", "Missed scheduled time to start a job: "
                                                       f"{scheduled.isoformat()}",
                            scheduled.isoformat()))
        return active
    name = job_name(cronjob, scheduled)
    if any(j["metadata"]["name"] == name for j in mine.values()):
        status["lastScheduleTime"] = format_time(scheduled)
        return active
    policy = spec.get("concurrencyPolicy") or "Allow"
    if policy == "Forbid" and active:
        plan.events.append(("Normal", "JobAlreadyActive", "Not starting job because prior "
                                                          "execution is running and concurrency "
                                                          "policy is Forbid",
                            scheduled.isoformat()))
        return active
    if policy == "Replace":
        plan.delete.extend(str(ref["name"]) for ref in active)
        active = []
    plan.create = job_for(cronjob, scheduled, tz)
    status["lastScheduleTime"] = format_time(scheduled)
    return active


def _history(spec: ObjectView, jobs: list[ObjectView]) -> list[str]:
    doomed: list[str] = []
    for kind, key, default in (("Complete", "successfulJobsHistoryLimit", 3),
                               ("Failed", "failedJobsHistoryLimit", 1)):
        done = [j for j in jobs if finished(j) == kind and not j["metadata"].get(
            "deletionTimestamp")]
        done.sort(key=lambda j: ((j.get("status") or {}).get("startTime") or
                                 j["metadata"].get("creationTimestamp") or "",
                                 j["metadata"]["name"]))
        limit = int(spec.get(key, default))
        doomed.extend(j["metadata"]["name"] for j in done[: max(len(done) - limit, 0)])
    return doomed
