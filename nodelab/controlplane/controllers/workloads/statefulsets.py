"""The StatefulSet controller: the revision history (shared with DaemonSets), then the pods
and status of each StatefulSet's plan (statefulset_plan.py), with upstream's events."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from nodelab.controlplane.controllers.workloads.conditions import status_patch
from nodelab.controlplane.controllers.workloads.controllerrevision_plan import plan_history
from nodelab.controlplane.controllers.workloads.daemonsets import apply_history
from nodelab.controlplane.controllers.workloads.replicaset_plan import owned_by
from nodelab.controlplane.controllers.workloads.statefulset_plan import plan_statefulset
from nodelab.kube.events import event_for
from nodelab.kube.restclient import RestError
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer

COMPONENT = "statefulset-controller"
log = logging.getLogger("nodelab.controllers.statefulset")


def _revision_template(store: Store, sts: dict[str, Any], name: str) -> dict[str, Any] | None:
    revision = store.get("controllerrevisions", sts["metadata"]["namespace"], name)
    if revision is None or not owned_by(revision, sts):
        return None
    template = dict(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


class StatefulSetController:
    name = "statefulset"
    kinds: tuple[str, ...] = ("statefulsets", "pods", "controllerrevisions")
    periodic = True  # minReadySeconds is about time passing

    def sync(self, store: Store, writer: Writer) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        for sts in store.list("statefulsets"):
            if sts["metadata"].get("deletionTimestamp"):
                continue
            try:
                self._sync_one(sts, store, writer, now)
            except RestError as exc:
                log.warning("statefulset %s/%s: %s", sts["metadata"]["namespace"],
                            sts["metadata"]["name"], exc.reason)

    def _sync_one(self, sts: dict[str, Any], store: Store, writer: Writer,
                  now: dt.datetime) -> None:
        namespace, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        pods = store.list("pods", namespace)
        live = {str((p["metadata"].get("labels") or {}).get("controller-revision-hash", ""))
                for p in pods if owned_by(p, sts)}
        history = plan_history(sts, "StatefulSet", store.list("controllerrevisions", namespace),
                               {label.removeprefix(f"{name}-") for label in live})
        apply_history(writer, namespace, history)
        update = f"{name}-{history.hash}"
        current = str((sts.get("status") or {}).get("currentRevision") or update)
        template = _revision_template(store, sts, current)
        if template is None:
            current, template = update, dict((sts.get("spec") or {}).get("template") or {})
        plan = plan_statefulset(sts, pods, update, current, template, now)

        def event(kind: str, reason: str, message: str) -> None:
            writer.event(event_for(sts, "StatefulSet", reason, message, component=COMPONENT,
                                   event_type=kind, api_version="apps/v1"))

        for pod_name in plan.delete:
            writer.delete("pods", namespace, pod_name)
            event("Normal", "SuccessfulDelete",
                  f"delete Pod {pod_name} in StatefulSet {name} successful")
        for body in plan.create:
            pod_name = body["metadata"]["name"]
            try:
                writer.create("pods", namespace, body)
            except RestError as exc:
                if exc.status == 409:
                    continue
                event("Warning", "FailedCreate", f"create Pod {pod_name} in StatefulSet {name} "
                                                 f"failed error: {exc.message}")
                break
            event("Normal", "SuccessfulCreate",
                  f"create Pod {pod_name} in StatefulSet {name} successful")
        patch = status_patch(sts.get("status") or {}, plan.status)
        if patch:
            writer.patch("statefulsets", namespace, name, {"status": patch},
                         subresource="status")
