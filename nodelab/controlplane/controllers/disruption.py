"""The disruption controller (kube-controller-manager's `disruption`): keeps every
PodDisruptionBudget's status as `disruption_plan.py` decides, which the eviction API reads.

The owners of kinds it does not watch (a custom resource with a `scale` subresource) are
looked up as upstream's getScaleController does: the kind's resource through discovery, then
a GET of its `scale`, once per sync for the budgets that need it.

On every change of a budget, a pod or an owning workload, and every second (a
`disruptedPods` entry expires after 2 minutes; a stale `DisruptionTarget` condition after 2
minutes), it plans each budget from the cache and writes the status with an update that
names the resourceVersion it read (upstream's `UpdateStatus`): when the eviction API changed
the budget meanwhile the write is a 409 and the next sync starts from the newer budget.
Events go out once per subject while their reason holds (upstream's recorder aggregates
repeats into a count instead).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from nodelab.controlplane.controllers.disruption_plan import (
    SCALED_KINDS,
    Event,
    ScaleAnswer,
    Workloads,
    multiple_budgets_event,
    plan,
    scale_lookups,
    stale_disruption_target,
)
from nodelab.kube.disruption_budgets import budgets_for
from nodelab.kube.events import event_for
from nodelab.kube.restclient import RestError
from nodelab.kube.store import Store
from nodelab.kube.verbs import STRATEGIC_PATCH, ResourceVerbs
from nodelab.kube.writer import Writer
from nodelab.kubewire.times import format_time

COMPONENT = "controllermanager"  # upstream's EventSource of this controller
log = logging.getLogger("nodelab.controllers.disruption")


def owner_scale(rest: ResourceVerbs, discovered: dict[str, list[dict[str, Any]] | None],
                api_version: str, kind: str, namespace: str, name: str) -> ScaleAnswer | None:
    """What upstream's getScaleController finds for an owner of another kind: the kind's
    resource from discovery (its RESTMapper), then its `scale` subresource (None: no such
    object)."""
    if api_version not in discovered:
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        try:
            discovered[api_version] = rest.request("GET", prefix).get("resources") or []
        except RestError as exc:
            if exc.status != 404:
                raise
            discovered[api_version] = None
    resources = discovered[api_version] or []
    plural = next((r["name"] for r in resources
                   if r.get("kind") == kind and "/" not in r.get("name", "")), None)
    if plural is None:
        return f'no matches for kind "{kind}" in version "{api_version}"'
    if not any(r.get("name") == f"{plural}/scale" for r in resources):
        group = api_version.rpartition("/")[0] if "/" in api_version else ""
        return f"{plural}.{group} does not implement the scale subresource" if group else \
            f"{plural} does not implement the scale subresource"
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    try:
        scale = rest.request("GET", f"{prefix}/namespaces/{namespace}/{plural}/{name}/scale")
    except RestError as exc:
        if exc.status == 404:
            return None
        raise
    return str(scale["metadata"].get("uid")), int((scale.get("spec") or {}).get("replicas") or 0)


class DisruptionController:
    name = "disruption"
    kinds: tuple[str, ...] = ("poddisruptionbudgets", "pods", *sorted(set(SCALED_KINDS.values())))
    periodic = True

    def __init__(self, clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)
                 ) -> None:
        self.clock = clock
        self._said: set[tuple[str, str, str]] = set()

    def sync(self, store: Store, writer: Writer) -> None:
        now = self.clock()
        budgets = store.list("poddisruptionbudgets")
        pods_by_namespace: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for pod in store.list("pods"):
            pods_by_namespace[pod["metadata"].get("namespace", "")].append(pod)
        discovered: dict[str, list[dict[str, Any]] | None] = {}
        scales: dict[tuple[str, str, str, str], ScaleAnswer] = {}
        for key in scale_lookups(budgets, [p for ps in pods_by_namespace.values() for p in ps]):
            try:
                found = owner_scale(writer.rest, discovered, *key)
            except RestError as exc:
                found = str(exc)
            if found is not None:
                scales[key] = found
        workloads = Workloads(
            {kind: {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
                    for o in store.list(kind)} for kind in set(SCALED_KINDS.values())},
            scales)
        saying: list[Event] = []
        for budget in budgets:
            meta = budget["metadata"]
            decided = plan(budget, pods_by_namespace[meta.get("namespace", "")], workloads, now)
            saying.extend(decided.events)
            if decided.status is not None:
                self._write_status(writer, budget, decided.status)
        for namespace, pods in pods_by_namespace.items():
            namespace_budgets = [b for b in budgets if b["metadata"].get("namespace") == namespace]
            for pod in pods:
                event = multiple_budgets_event(
                    pod, budgets_for(pod, namespace_budgets))
                if event is not None:
                    saying.append(event)
                if stale_disruption_target(pod, now) == dt.timedelta(0):
                    self._reset_disruption_target(writer, pod, now)
        self._say(writer, saying)

    def _write_status(self, writer: Writer, budget: dict[str, Any],
                      status: dict[str, Any]) -> None:
        meta = budget["metadata"]
        try:
            writer.replace("poddisruptionbudgets", meta["namespace"], meta["name"],
                           {**budget, "status": status}, "status")
        except RestError as exc:  # 409: the eviction API wrote first; the watch brings it
            log.info("pdb %s/%s: status not written: %s", meta["namespace"], meta["name"], exc)

    def _reset_disruption_target(self, writer: Writer, pod: dict[str, Any],
                                 now: dt.datetime) -> None:
        """`syncStalePodDisruption`: the condition goes False (no reason, no message)."""
        meta = pod["metadata"]
        condition = {"type": "DisruptionTarget", "status": "False", "reason": None,
                     "message": None, "lastTransitionTime": format_time(now)}
        try:
            writer.patch("pods", meta["namespace"], meta["name"],
                         {"metadata": {"uid": meta["uid"]}, "status": {"conditions": [condition]}},
                         subresource="status", content_type=STRATEGIC_PATCH)
        except RestError as exc:
            if exc.status not in (404, 409):
                raise

    def _say(self, writer: Writer, events: list[Event]) -> None:
        keys = set()
        for event in events:
            key = (str(event.subject["metadata"].get("uid")), event.reason, event.message)
            keys.add(key)
            if key in self._said:
                continue
            api_version = "policy/v1" if event.kind == "PodDisruptionBudget" else "v1"
            writer.event(event_for(event.subject, event.kind, event.reason, event.message,
                                   component=COMPONENT, event_type=event.type,
                                   api_version=api_version))
        self._said = keys
