"""The CronJob controller's plan and schedule validation, against upstream's rules."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from nodelab.controlplane.controllers.batch.cronjob_plan import (
    SCHEDULED_ANNOTATION,
    most_recent,
    plan_cronjob,
)
from nodelab.controlplane.validation.cronjobs import schedule_error

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 1, 1, 12, 0, 30, tzinfo=dt.timezone.utc)
UTC = dt.timezone.utc


def cronjob(schedule: str = "*/5 * * * *", **spec: Any) -> dict[str, Any]:
    status = spec.pop("status", {})
    full = {"schedule": schedule, "concurrencyPolicy": "Allow", "suspend": False,
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
            "jobTemplate": {"metadata": {"labels": {"team": "a"}},
                            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                                           "containers": [{"name": "c"}]}}}}}
    full.update(spec)
    return {"metadata": {"name": "tick", "namespace": "default", "uid": "cj-uid",
                         "creationTimestamp": "2026-01-01T11:00:00Z"},
            "spec": full, "status": status}


def job(name: str, state: str | None = None, start: str = "2026-01-01T11:00:00Z",
        owner: str = "cj-uid") -> dict[str, Any]:
    conditions = [{"type": state, "status": "True"}] if state else []
    status: dict[str, Any] = {"conditions": conditions, "startTime": start}
    if state == "Complete":
        status["completionTime"] = start
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                         "ownerReferences": [{"uid": owner, "controller": True}]},
            "status": status}


def active(*names: str) -> list[dict[str, Any]]:
    return [{"kind": "Job", "name": n, "namespace": "default", "uid": f"uid-{n}"}
            for n in names]


def test_the_most_recent_missed_time_starts_a_deterministically_named_job() -> None:
    plan = plan_cronjob(cronjob(status={"lastScheduleTime": "2026-01-01T11:50:00Z"}), [], NOW)
    assert plan.create is not None
    minutes = int(dt.datetime(2026, 1, 1, 12, 0, tzinfo=UTC).timestamp()) // 60
    assert plan.create["metadata"]["name"] == f"tick-{minutes}"
    assert plan.create["metadata"]["labels"] == {"team": "a"}
    assert plan.create["metadata"]["annotations"] == {SCHEDULED_ANNOTATION:
                                                      "2026-01-01T12:00:00Z"}
    assert plan.create["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert plan.status["lastScheduleTime"] == "2026-01-01T12:00:00Z"


def test_nothing_is_due_before_the_next_time() -> None:
    plan = plan_cronjob(cronjob(status={"lastScheduleTime": "2026-01-01T12:00:00Z"}), [], NOW)
    assert plan.create is None and plan.events == []


@pytest.mark.parametrize(("policy", "creates", "deletes", "reason"), [
    ("Allow", True, [], None),
    ("Forbid", False, [], "JobAlreadyActive"),
    ("Replace", True, ["tick-1"], None),
])
def test_concurrency_policies(policy: str, creates: bool, deletes: list[str],
                              reason: str | None) -> None:
    spec = cronjob(concurrencyPolicy=policy, status={
        "lastScheduleTime": "2026-01-01T11:55:00Z", "active": active("tick-1")})
    plan = plan_cronjob(spec, [job("tick-1")], NOW)
    assert (plan.create is not None) == creates
    assert plan.delete == deletes
    assert [e[1] for e in plan.events] == ([reason] if reason else [])


def test_a_deadline_skips_times_missed_by_too_long() -> None:
    spec = cronjob("0 * * * *", startingDeadlineSeconds=60,
                   status={"lastScheduleTime": "2026-01-01T11:00:00Z"})
    late = plan_cronjob(spec, [], NOW + dt.timedelta(minutes=3))
    assert late.create is None
    on_time = plan_cronjob(spec, [], NOW)
    assert on_time.create is not None


def test_suspended_cronjobs_start_nothing() -> None:
    plan = plan_cronjob(cronjob(suspend=True), [], NOW)
    assert plan.create is None


def test_finished_jobs_leave_active_and_old_ones_are_trimmed() -> None:
    jobs = [job(f"ok{i}", "Complete", start=f"2026-01-01T11:0{i}:00Z") for i in range(5)]
    jobs += [job("bad1", "Failed", start="2026-01-01T11:01:00Z"),
             job("bad2", "Failed", start="2026-01-01T11:02:00Z"), job("run")]
    spec = cronjob(status={"lastScheduleTime": "2026-01-01T12:00:00Z",
                           "active": active("ok4", "run", "gone")})
    plan = plan_cronjob(spec, jobs, NOW)
    assert [a["name"] for a in plan.status["active"]] == ["run"]
    assert sorted(plan.delete) == ["bad1", "ok0", "ok1"]
    assert plan.status["lastSuccessfulTime"] == "2026-01-01T11:04:00Z"
    reasons = sorted(e[1] for e in plan.events)
    assert reasons == ["MissingJob", "SawCompletedJob"]


def test_an_unlisted_running_job_is_reported() -> None:
    spec = cronjob(status={"lastScheduleTime": "2026-01-01T12:00:00Z"})
    plan = plan_cronjob(spec, [job("manual")], NOW)
    assert [e[1] for e in plan.events] == ["UnexpectedJob"]


def test_time_zones_shift_the_schedule() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    earliest = dt.datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    recent, _ = most_recent("0 13 * * *", earliest, NOW, berlin)
    assert recent == dt.datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # 13:00 in Berlin
    plan = plan_cronjob(cronjob("0 13 * * *", timeZone="Europe/Berlin"), [], NOW)
    assert plan.create is not None
    assert plan.create["metadata"]["annotations"][SCHEDULED_ANNOTATION] == \
        "2026-01-01T13:00:00+01:00"
    assert plan_cronjob(cronjob("0 13 * * *"), [], NOW).create is None  # 13:00 UTC is later


@pytest.mark.parametrize(("schedule", "problem"), [
    ("*/5 * * * *", None), ("@hourly", None), ("0 0 1 1 *", None),
    ("* * * *", "expected exactly 5 fields, found 4: * * * *"),
    ("0 0 * * * *", "expected exactly 5 fields, found 6: 0 0 * * * *"),
    ("TZ=UTC * * * * *", "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
    ("@every 5m", "unrecognized descriptor: @every 5m"),
    ("61 * * * *", "invalid schedule format"), ("", "Required value"),
])
def test_schedules_are_standard_cron(schedule: str, problem: str | None) -> None:
    assert schedule_error(schedule) == problem
