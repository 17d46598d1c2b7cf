"""CronJob validation (upstream's pkg/apis/batch/validation `ValidateCronJob*`): the schedule
(standard cron: 5 fields or a descriptor, no `TZ=`/`CRON_TZ=` prefix), `timeZone` (a name
in the time zone database), the concurrency policy, the history limits, and the job template
as a Job spec. `@every <duration>`, which upstream's parser also takes, is refused: croniter
does not read it."""

from __future__ import annotations

import zoneinfo
from typing import Any

from croniter import croniter

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.jobs import validate_job_spec
from nodelab.kube.objects import Object

DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
MAX_NAME = 52  # the Job name adds "-" and up to 11 digits


def schedule_error(schedule: Any) -> str | None:
    if not isinstance(schedule, str) or not schedule.strip():
        return "Required value"
    text = schedule.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        return "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
    if text.startswith("@"):
        if text not in DESCRIPTORS:
            return f"unrecognized descriptor: {text}"
        return None
    fields = text.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: {text}"
    if not croniter.is_valid(text):
        return "invalid schedule format"
    return None


def validate_cronjob(errors: FieldErrors, obj: Object) -> None:
    name = (obj.get("metadata") or {}).get("name")
    if isinstance(name, str) and len(name) > MAX_NAME:
        errors.invalid("metadata.name", name, f"must be no more than {MAX_NAME} characters")
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errors.required("spec")
        return
    problem = schedule_error(spec.get("schedule"))
    if problem == "Required value":
        errors.required("spec.schedule")
    elif problem is not None:
        errors.invalid("spec.schedule", spec.get("schedule"), problem)
    zone = spec.get("timeZone")
    if zone is not None:
        try:
            zoneinfo.ZoneInfo(str(zone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.invalid("spec.timeZone", zone, "unknown time zone " + str(zone))
    policy = spec.get("concurrencyPolicy")
    if policy not in ("Allow", "Forbid", "Replace"):
        errors.unsupported("spec.concurrencyPolicy", policy, ["Allow", "Forbid", "Replace"])
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit",
                "failedJobsHistoryLimit"):
        errors.non_negative(f"spec.{key}", spec.get(key))
    template = spec.get("jobTemplate")
    if not isinstance(template, dict):
        errors.required("spec.jobTemplate")
        return
    errors.labels("spec.jobTemplate.metadata.labels",
                  (template.get("metadata") or {}).get("labels"))
    validate_job_spec(errors, template.get("spec"), "spec.jobTemplate.spec", in_template=True)
