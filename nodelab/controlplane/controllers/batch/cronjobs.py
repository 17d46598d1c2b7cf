"""The CronJob controller: applies each CronJob's plan (cronjob_plan.py): Jobs deleted
(Background propagation) and created, then the status with the new Job in `active`. It runs
every second; each event is recorded once per CronJob and subject (upstream syncs a CronJob
only at its schedule times, so it says each thing once)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from nodelab.controlplane.controllers.batch.cronjob_plan import plan_cronjob, reference
from nodelab.controlplane.controllers.workloads.conditions import status_patch
from nodelab.kube.events import event_for
from nodelab.kube.restclient import RestError
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer

COMPONENT = "cronjob-controller"
log = logging.getLogger("nodelab.controllers.cronjob")


class CronJobController:
    name = "cronjob"
    kinds: tuple[str, ...] = ("cronjobs", "jobs")
    periodic = True  # schedules are about time passing

    def __init__(self, local: dt.tzinfo | None = None) -> None:
        self.local = local or dt.datetime.now().astimezone().tzinfo or dt.timezone.utc
        self._said: set[tuple[str, str, str]] = set()

    def sync(self, store: Store, writer: Writer) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        for cronjob in store.list("cronjobs"):
            try:
                self._sync_one(cronjob, store, writer, now)
            except RestError as exc:
                log.warning("cronjob %s/%s: %s", cronjob["metadata"]["namespace"],
                            cronjob["metadata"]["name"], exc.reason)
        if len(self._said) > 10000:
            self._said.clear()

    def _sync_one(self, cronjob: dict[str, Any], store: Store, writer: Writer,
                  now: dt.datetime) -> None:
        namespace, name = cronjob["metadata"]["namespace"], cronjob["metadata"]["name"]
        plan = plan_cronjob(cronjob, store.list("jobs", namespace), now, self.local)

        def event(kind: str, reason: str, message: str, about: str) -> None:
            key = (str(cronjob["metadata"].get("uid")), reason, str(about))
            if key in self._said:
                return
            self._said.add(key)
            writer.event(event_for(cronjob, "CronJob", reason, message, component=COMPONENT,
                                   event_type=kind, api_version="batch/v1"))

        for job in plan.delete:
            writer.delete("jobs", namespace, job, {"propagationPolicy": "Background"})
            event("Normal", "SuccessfulDelete", f"Deleted job {job}", job)
        status = dict(plan.status)
        if plan.create is not None:
            job_name = plan.create["metadata"]["name"]
            try:
                created = writer.create("jobs", namespace, plan.create)
            except RestError as exc:
                if exc.status != 409:
                    event("Warning", "FailedCreate", f"Error creating job: "
                                                     f"{exc.message}", job_name)
                    raise
            else:
                status["active"] = [*status.get("active", []), reference(created)]
                event("Normal", "SuccessfulCreate", f"Created job {job_name}", job_name)
        for kind, reason, message, about in plan.events:
            event(kind, reason, message, about)
        patch = status_patch(cronjob.get("status") or {}, status)
        if patch:
            writer.patch("cronjobs", namespace, name, {"status": patch}, subresource="status")
