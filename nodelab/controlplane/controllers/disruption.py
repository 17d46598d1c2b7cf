"""The disruption controller (kube-controller-manager's `disruption`): keeps every
PodDisruptionBudget's status as `disruption_plan.py` decides, which the eviction API reads.

The owners of kinds it does not watch (a custom resource with a `scale` subresource) are
looked up as upstream's getScaleController does (`ScaleReader`): the kind's resource through
discovery (cached, read again every 30 s or when a kind is not found in a cache read
before), then a GET of its `scale`, when upstream would sync the budget: it or one of its pods
changed (`disruption_scales.py`). A failed read is tried again at the next pass; an
error answer (no such kind, no scale subresource) is kept until discovery is read again.

On every change of a budget, a pod or an owning workload, and every second (a
`disruptedPods` entry expires after 2 minutes; a stale `DisruptionTarget` condition after 2
minutes), it plans each budget from the cache and writes the status with an update that
names the resourceVersion it read (upstream's `UpdateStatus`): when the eviction API changed
the budget meanwhile the write is a 409 and the next sync starts from the newer budget.
Events go out once per subject while their reason holds: this controller passes every second
where upstream syncs on changes, so the recorder's count would count passes.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
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
    stale_disruption_target,
)
from nodelab.controlplane.controllers.disruption_scales import (
    Fingerprint,
    Lookup,
    discovery_due,
    scale_lookups,
    scale_reads,
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


class ScaleReader:
    """Reads owners' `scale` subresources as upstream's getScaleController, with its
    RESTMapper's cached discovery, and keeps each answer until `scale_reads` says it is due."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.discovered: dict[str, list[dict[str, Any]] | None] = {}
        self.discovered_at: float | None = None
        self.answers: dict[Lookup, ScaleAnswer | None] = {}
        self.read_for: dict[str, Fingerprint] = {}

    def scales(self, rest: ResourceVerbs, budgets: list[dict[str, Any]],
               pods: list[dict[str, Any]]) -> dict[Lookup, ScaleAnswer]:
        """Every lookup the budgets need, answered (reading only those due)."""
        now = self.clock()
        if discovery_due(self.discovered_at, now):
            self.discovered, self.discovered_at = {}, now
            self.answers = {k: a for k, a in self.answers.items() if not isinstance(a, str)}
        due, fingerprints = scale_reads(budgets, pods, self.read_for, self.answers)
        failed: dict[Lookup, ScaleAnswer] = {}
        fresh: set[str] = set()
        for lookup in sorted(due):
            try:
                self.answers[lookup] = self._read(rest, fresh, *lookup)
            except RestError as exc:  # this pass fails safe; read again at the next
                self.answers.pop(lookup, None)
                failed[lookup] = str(exc)
        if not failed:
            self.read_for = fingerprints
        wanted = scale_lookups(budgets, pods)
        return {**{k: a for k, a in self.answers.items() if k in wanted and a is not None},
                **failed}

    def _read(self, rest: ResourceVerbs, fresh: set[str], api_version: str, kind: str,
              namespace: str, name: str) -> ScaleAnswer | None:
        """What getScaleController finds: the kind's resource from discovery (its
        RESTMapper), then its `scale` subresource (None: no such object)."""
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        resources = self._discover(rest, fresh, api_version, prefix)
        plural = _plural(resources, kind)
        if plural is None and api_version not in fresh:  # a kind added since: look again
            self.discovered.pop(api_version, None)
            resources = self._discover(rest, fresh, api_version, prefix)
            plural = _plural(resources, kind)
        if plural is None:
            return f'no matches for kind "{kind}" in version "{api_version}"'
        if not any(r.get("name") == f"{plural}/scale" for r in resources or []):
            group = api_version.rpartition("/")[0] if "/" in api_version else ""
            return f"{plural}.{group} does not implement the scale subresource" if group else \
                f"{plural} does not implement the scale subresource"
        try:
            scale = rest.request("GET", f"{prefix}/namespaces/{namespace}/{plural}/{name}/scale")
        except RestError as exc:
            if exc.status == 404:
                return None
            raise
        return (str(scale["metadata"].get("uid")),
                int((scale.get("spec") or {}).get("replicas") or 0))

    def _discover(self, rest: ResourceVerbs, fresh: set[str], api_version: str,
                  prefix: str) -> list[dict[str, Any]] | None:
        if api_version not in self.discovered:
            fresh.add(api_version)
            try:
                self.discovered[api_version] = rest.request("GET", prefix).get("resources") or []
            except RestError as exc:
                if exc.status != 404:
                    raise
                self.discovered[api_version] = None
        return self.discovered[api_version]


def _plural(resources: list[dict[str, Any]] | None, kind: str) -> str | None:
    return next((r["name"] for r in resources or []
                 if r.get("kind") == kind and "/" not in r.get("name", "")), None)


class DisruptionController:
    name = "disruption"
    kinds: tuple[str, ...] = ("poddisruptionbudgets", "pods", *sorted(set(SCALED_KINDS.values())))
    periodic = True

    def __init__(self, clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)
                 ) -> None:
        self.clock = clock
        self.scale_reader = ScaleReader()
        self._said: set[tuple[str, str, str]] = set()

    def sync(self, store: Store, writer: Writer) -> None:
        now = self.clock()
        budgets = store.list("poddisruptionbudgets")
        pods_by_namespace: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for pod in store.list("pods"):
            pods_by_namespace[pod["metadata"].get("namespace", "")].append(pod)
        scales = self.scale_reader.scales(
            writer.rest, budgets, [p for ps in pods_by_namespace.values() for p in ps])
        workloads = Workloads(
            {kind: {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
                    for o in store.list(kind)} for kind in set(SCALED_KINDS.values())},
            scales)
        said: set[tuple[str, str, str]] = set()
        saying: list[Event] = []
        for budget in budgets:
            meta = budget["metadata"]
            decided = plan(budget, pods_by_namespace[meta.get("namespace", "")], workloads, now)
            # the budget's events, then its status, as upstream's trySync and failSafe
            self._say(writer, decided.events, said)
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
        self._say(writer, saying, said)
        self._said = said

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

    def _say(self, writer: Writer, events: list[Event], keys: set[tuple[str, str, str]]
             ) -> None:
        """Record each event not said in the last pass; `keys` collects this pass's."""
        for event in events:
            key = (str(event.subject["metadata"].get("uid")), event.reason, event.message)
            keys.add(key)
            if key in self._said:
                continue
            api_version = "policy/v1" if event.kind == "PodDisruptionBudget" else "v1"
            writer.event(event_for(event.subject, event.kind, event.reason, event.message,
                                   component=COMPONENT, event_type=event.type,
                                   api_version=api_version))
