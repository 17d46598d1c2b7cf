"""The DaemonSet controller: each DaemonSet's revision history (controllerrevision_plan.py),
then its pods and status (daemonset_plan.py), with upstream's events."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from nodelab.controlplane.controllers.workloads.conditions import status_patch
from nodelab.controlplane.controllers.workloads.controllerrevision_plan import (
    HistoryPlan,
    plan_history,
    revision_hash,
)
from nodelab.controlplane.controllers.workloads.daemonset_plan import plan_daemonset
from nodelab.controlplane.controllers.workloads.pod_control import create_pods
from nodelab.controlplane.controllers.workloads.replicaset_plan import owned_by
from nodelab.kube.events import event_for
from nodelab.kube.restclient import RestError
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer

COMPONENT = "daemonset-controller"
log = logging.getLogger("nodelab.controllers.daemonset")


def apply_history(writer: Writer, namespace: str, history: HistoryPlan) -> None:
    """Write a revision-history plan (shared with the StatefulSet controller)."""
    if history.create is not None:
        try:
            writer.create("controllerrevisions", namespace, history.create)
        except RestError as exc:
            if exc.status != 409:  # already there (a sync racing its own watch)
                raise
    for name, number in history.renumber.items():
        writer.patch("controllerrevisions", namespace, name, {"revision": number})
    for name in history.delete:
        writer.delete("controllerrevisions", namespace, name)


def live_hashes(owner: dict[str, Any], pods: list[dict[str, Any]]) -> set[str]:
    return {revision_hash(p) for p in pods if owned_by(p, owner)}


class DaemonSetController:
    name = "daemonset"
    kinds: tuple[str, ...] = ("daemonsets", "nodes", "pods", "controllerrevisions")
    periodic = True  # minReadySeconds is about time passing

    def sync(self, store: Store, writer: Writer) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        nodes = store.list("nodes")
        for ds in store.list("daemonsets"):
            if ds["metadata"].get("deletionTimestamp"):
                continue
            try:
                self._sync_one(ds, nodes, store, writer, now)
            except RestError as exc:
                log.warning("daemonset %s/%s: %s", ds["metadata"]["namespace"],
                            ds["metadata"]["name"], exc.reason)

    def _sync_one(self, ds: dict[str, Any], nodes: list[dict[str, Any]], store: Store,
                  writer: Writer, now: dt.datetime) -> None:
        namespace, name = ds["metadata"]["namespace"], ds["metadata"]["name"]
        pods = store.list("pods", namespace)
        history = plan_history(ds, "DaemonSet", store.list("controllerrevisions", namespace),
                               live_hashes(ds, pods))
        apply_history(writer, namespace, history)
        plan = plan_daemonset(ds, nodes, pods, history.hash, now)

        def event(kind: str, reason: str, message: str) -> None:
            writer.event(event_for(ds, "DaemonSet", reason, message, component=COMPONENT,
                                   event_type=kind, api_version="apps/v1"))

        for pod_name, node in plan.failed:
            event("Warning", "FailedDaemonPod", f"Found failed daemon pod {namespace}/"
                                               f"{pod_name} on node {node}, will try to kill it")
        for pod_name in plan.delete:
            writer.delete("pods", namespace, pod_name)
            event("Normal", "SuccessfulDelete", f"Deleted pod: {pod_name}")
        create_pods(writer, namespace, plan.create, event)
        patch = status_patch(ds.get("status") or {}, plan.status)
        if patch:
            writer.patch("daemonsets", namespace, name, {"status": patch}, subresource="status")
