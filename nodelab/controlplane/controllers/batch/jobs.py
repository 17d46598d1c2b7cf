"""The Job controller: applies each Job's plan (job_plan.py) in the order that keeps counts
safe: the status (with newly finished pods recorded as uncounted) first, then pod creations and
deletions, then finalizer removals. Pods that still hold the job-tracking finalizer after
their Job is gone are let go, as upstream's controller does for orphans."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from nodelab.controlplane.controllers.batch.job_plan import plan_job
from nodelab.controlplane.controllers.batch.job_pods import FINALIZER, has_finalizer
from nodelab.controlplane.controllers.workloads.conditions import status_patch
from nodelab.controlplane.controllers.workloads.pod_control import create_pods
from nodelab.kube.events import event_for
from nodelab.kube.restclient import RestError
from nodelab.kube.store import Store
from nodelab.kube.verbs import JSON_PATCH
from nodelab.kube.writer import Writer

COMPONENT = "job-controller"
log = logging.getLogger("nodelab.controllers.job")


def remove_finalizer(writer: Writer, pod: dict[str, Any]) -> None:
    """Drop the job-tracking finalizer (a JSON patch that first tests it is still there)."""
    finalizers = pod["metadata"].get("finalizers") or []
    if FINALIZER not in finalizers:
        return
    index = finalizers.index(FINALIZER)
    path = f"/metadata/finalizers/{index}"
    try:
        writer.patch("pods", pod["metadata"]["namespace"], pod["metadata"]["name"],
                     [{"op": "test", "path": path, "value": FINALIZER},
                      {"op": "remove", "path": path}], content_type=JSON_PATCH)
    except RestError as exc:
        if exc.status not in (404, 409, 422):
            raise


class JobController:
    name = "job"
    kinds: tuple[str, ...] = ("jobs", "pods")
    periodic = True  # back-off and activeDeadlineSeconds are about time passing

    def sync(self, store: Store, writer: Writer) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        jobs = store.list("jobs")
        for job in jobs:
            try:
                self._sync_job(job, store, writer, now)
            except RestError as exc:  # one Job's trouble must not stall the others
                log.warning("job %s/%s: %s", job["metadata"]["namespace"],
                            job["metadata"]["name"], exc.reason)
        alive = {j["metadata"].get("uid") for j in jobs}
        for pod in store.list("pods"):
            owners = [r for r in pod["metadata"].get("ownerReferences") or []
                      if r.get("controller") and r.get("kind") == "Job"]
            if has_finalizer(pod) and not any(r.get("uid") in alive for r in owners):
                remove_finalizer(writer, pod)

    def _sync_job(self, job: dict[str, Any], store: Store, writer: Writer,
                  now: dt.datetime) -> None:
        metadata = job["metadata"]
        namespace, name = metadata["namespace"], metadata["name"]
        pods = store.list("pods", namespace)
        plan = plan_job(job, pods, now)

        def event(kind: str, reason: str, message: str) -> None:
            writer.event(event_for(job, "Job", reason, message, component=COMPONENT,
                                   event_type=kind, api_version="batch/v1"))

        for kind, reason, message in plan.events_before_status:
            event(kind, reason, message)
        patch = status_patch(job.get("status") or {}, plan.status)
        if patch:
            writer.patch("jobs", namespace, name, {"status": patch}, subresource="status")
        create_pods(writer, namespace, plan.create, event)
        by_name = {p["metadata"]["name"]: p for p in pods}
        for pod_name in plan.discard:
            remove_finalizer(writer, by_name[pod_name])
        for pod_name in [*plan.delete, *plan.discard]:
            writer.delete("pods", namespace, pod_name)
            event("Normal", "SuccessfulDelete", f"Deleted pod: {pod_name}")
        for pod_name in plan.remove_finalizers:
            current = store.get("pods", namespace, pod_name)
            if current is not None:
                remove_finalizer(writer, current)
        for kind, reason, message in plan.events:
            event(kind, reason, message)
