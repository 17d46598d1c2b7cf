"""The HorizontalPodAutoscaler controller (autoscaling/v2): every 15 s per HPA
(`--horizontal-pod-autoscaler-sync-period`), read the target's `scale` subresource, its pods
(the scale's selector) and their PodMetrics from metrics.k8s.io (through the aggregation
layer, as upstream's resource metrics client), let `hpa_plan.py` decide, write the new
`spec.replicas` through the scale subresource, then the status (currentReplicas,
desiredReplicas, currentMetrics, lastScaleTime, conditions AbleToScale, ScalingActive,
ScalingLimited) and upstream's events (`SuccessfulRescale`, `FailedGetScale`,
`FailedGetResourceMetric`, `FailedComputeMetricsReplicas`). Metrics of the APIs a lab does not
serve fail as upstream's do without them (`hpa_sources.py`); with several metrics, the ones
that worked still scale unless upstream's rule says stop.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from nodelab.controlplane.controllers.workloads.conditions import status_patch
from nodelab.controlplane.controllers.workloads.hpa_plan import (
    MetricError,
    PodUsage,
    Proposal,
    ScaleEvent,
    container_resource_replicas,
    normalize,
    pod_usage,
    readiness,
    resource_replicas,
    resource_requests,
    unrequested,
)
from nodelab.controlplane.controllers.workloads.hpa_sources import stops, unserved, wrapped
from nodelab.kube.events import event_for
from nodelab.kube.protobuf.jsonproto import parse_duration
from nodelab.kube.resources import path
from nodelab.kube.restclient import RestError
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer
from nodelab.kubewire.times import now as now_text
from nodelab.kubewire.times import parse_time

COMPONENT = "horizontal-pod-autoscaler"
SYNC_PERIOD = 15.0
TARGETS = {"Deployment": "deployments", "ReplicaSet": "replicasets",
           "StatefulSet": "statefulsets", "ReplicationController": "replicationcontrollers"}
log = logging.getLogger("nodelab.controllers.hpa")


def _condition(kind: str, status: str, reason: str, message: str,
               previous: list[dict[str, Any]]) -> dict[str, Any]:
    old = next((c for c in previous if c.get("type") == kind), None)
    moved = old is None or old.get("status") != status
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": now_text() if moved or old is None
            else old.get("lastTransitionTime")}


@dataclass
class _Memory:
    """What upstream keeps per HPA between syncs: recommendations and scale events."""

    last_sync: float = 0.0
    recommendations: tuple[tuple[float, int], ...] = ()
    events: list[ScaleEvent] = field(default_factory=list)


class HorizontalPodAutoscalerController:
    name = "horizontalpodautoscaler"
    kinds: tuple[str, ...] = ("horizontalpodautoscalers",)
    periodic = True

    def __init__(self, period: float = SYNC_PERIOD) -> None:
        self.period = period
        self._memory: dict[str, _Memory] = {}

    def sync(self, store: Store, writer: Writer) -> None:
        now = time.monotonic()
        seen = set()
        for hpa in store.list("horizontalpodautoscalers"):
            uid = str(hpa["metadata"].get("uid"))
            seen.add(uid)
            memory = self._memory.setdefault(uid, _Memory())
            if now - memory.last_sync < self.period:
                continue
            memory.last_sync = now
            try:
                self._sync_one(hpa, writer, memory, now)
            except RestError as exc:
                log.warning("hpa %s/%s: %s", hpa["metadata"]["namespace"],
                            hpa["metadata"]["name"], exc.reason)
        for uid in set(self._memory) - seen:
            del self._memory[uid]

    def _event(self, writer: Writer, hpa: dict[str, Any], kind: str, reason: str,
               message: str) -> None:
        writer.event(event_for(hpa, "HorizontalPodAutoscaler", reason, message,
                               component=COMPONENT, event_type=kind,
                               api_version="autoscaling/v2"))

    def _pods(self, writer: Writer, namespace: str, selector: str, metric: dict[str, Any]
              ) -> list[PodUsage]:
        """The target's pods with their requests and usage: of every container for a Resource
        metric, of the metric's container for a ContainerResource one."""
        container = (metric.get("containerResource") or {}).get("container")
        resource = str((metric.get("resource") or metric.get("containerResource") or {})
                       .get("name", ""))
        reason = "FailedGetContainerResourceMetric" if container else "FailedGetResourceMetric"
        query = f"?labelSelector={quote(selector)}" if selector else ""
        pods = writer.rest.request("GET", f"/api/v1/namespaces/{namespace}/pods{query}")
        try:
            metrics = writer.rest.request(
                "GET", f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods{query}")
        except RestError as exc:
            raise MetricError(reason,
                              "unable to get metrics for resource: unable to fetch metrics "
                              f"from resource metrics API: {exc.reason}") from exc
        items = metrics.get("items") or []
        for item in items:
            if container and not any(c.get("name") == container
                                     for c in item.get("containers") or []):
                raise MetricError(reason, f"failed to get {resource} utilization: unable to get "
                                  f"metrics for resource {resource}: failed to get container "
                                  f"metrics: container {container} not present in metrics for "
                                  f"pod {namespace}/{item['metadata']['name']}")
        usage = {m["metadata"]["name"]: pod_usage(m, container) for m in items}
        samples = {m["metadata"]["name"]: m for m in items}
        found = []
        for pod in pods.get("items") or []:
            status = pod.get("status") or {}
            name = pod["metadata"]["name"]
            sample = samples.get(name) or {}
            ready, ready_changed = readiness(status.get("conditions") or [])
            found.append(PodUsage(
                name=name,
                ready=ready,
                failed=status.get("phase") == "Failed",
                deleting=bool(pod["metadata"].get("deletionTimestamp")),
                requests=resource_requests(pod, container), usage=usage.get(name),
                unrequested=unrequested(pod, container),
                pending=status.get("phase") == "Pending",
                started=_epoch(status.get("startTime")),
                ready_changed=ready_changed,
                sampled=_epoch(sample.get("timestamp")) or 0.0,
                window=parse_duration(str(sample.get("window") or "0")) / 1e9))
        return found

    def _sync_one(self, hpa: dict[str, Any], writer: Writer, memory: _Memory,
                  now: float) -> None:
        namespace = hpa["metadata"]["namespace"]
        spec = hpa.get("spec") or {}
        previous = list((hpa.get("status") or {}).get("conditions") or [])
        ref = spec.get("scaleTargetRef") or {}
        kind = TARGETS.get(str(ref.get("kind")))
        status: dict[str, Any] = dict(hpa.get("status") or {})
        try:
            if kind is None:
                raise RestError(404, f"no matches for kind {ref.get('kind')!r}")
            scale = writer.rest.request("GET", path(kind, namespace, ref.get("name"), "scale"))
        except RestError as exc:
            message = f"the HPA controller was unable to get the target's current scale: " \
                      f"{exc.reason}"
            self._event(writer, hpa, "Warning", "FailedGetScale", message)
            status["conditions"] = [_condition("AbleToScale", "False", "FailedGetScale",
                                               message, previous)]
            self._write_status(writer, hpa, status)
            return
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        status["currentReplicas"] = int((scale.get("status") or {}).get("replicas") or 0)
        conditions = [_condition("AbleToScale", "True", "SucceededGetScale",
                                 "the HPA controller was able to get the target's current "
                                 "scale", previous)]
        if current == 0 and int(spec.get("minReplicas") or 1) != 0:
            conditions.append(_condition("ScalingActive", "False", "ScalingDisabled",
                                         "scaling is disabled since the replica count of the "
                                         "target is zero", previous))
            status.update(desiredReplicas=0, conditions=conditions)
            self._write_status(writer, hpa, status)
            return
        proposals: list[Proposal] = []
        metrics = list(spec.get("metrics") or [])
        failed: list[tuple[dict[str, Any], MetricError]] = []
        selector = str((scale.get("status") or {}).get("selector") or "")
        for metric in metrics:
            try:
                if metric.get("type") == "Resource":
                    pods = self._pods(writer, namespace, selector, metric)
                    proposals.append(resource_replicas(current, metric, pods, time.time()))
                elif metric.get("type") == "ContainerResource":
                    pods = self._pods(writer, namespace, selector, metric)
                    proposals.append(container_resource_replicas(current, metric, pods,
                                                                 time.time()))
                else:
                    raise unserved(metric, namespace)
            except MetricError as exc:
                self._event(writer, hpa, "Warning", exc.reason, exc.message)
                failed.append((metric, exc))
        proposed = max((p.replicas for p in proposals), default=None)
        if stops(len(metrics), len(failed), proposed, current):
            metric, first = failed[0]
            self._event(writer, hpa, "Warning", "FailedComputeMetricsReplicas",
                        f"invalid metrics ({len(failed)} invalid out of {len(metrics)}), "
                        f"first error is: {wrapped(metric, first)}")
            conditions.append(_condition("ScalingActive", "False", first.reason,
                                         f"the HPA was unable to compute the replica count: "
                                         f"{first.message}", previous))
            status.update(desiredReplicas=current, conditions=conditions)
            self._write_status(writer, hpa, status)
            return
        best = max(proposals, key=lambda p: p.replicas)
        normalized = normalize(spec, current, best.replicas, memory.recommendations,
                               memory.events, now)
        memory.recommendations = normalized.recommendations
        conditions.append(_condition("ScalingActive", "True", "ValidMetricFound",
                                     f"the HPA was able to successfully calculate a replica "
                                     f"count from {best.description}", previous))
        conditions.append(_condition("ScalingLimited", *normalized.limited, previous))
        desired = normalized.replicas
        if desired != current:
            writer.rest.patch(kind, namespace, ref["name"], {"spec": {"replicas": desired}},
                              "scale")
            memory.events = [e for e in memory.events if now - e.at < 1800]
            memory.events.append(ScaleEvent(now, desired - current))
            direction = "above" if desired > current else "below"
            self._event(writer, hpa, "Normal", "SuccessfulRescale",
                        f"New size: {desired}; reason: {best.description} {direction} target")
            conditions[0] = _condition("AbleToScale", "True", "SucceededRescale",
                                       f"the HPA controller was able to update the target scale "
                                       f"to {desired}", previous)
            status["lastScaleTime"] = now_text()
        else:
            conditions[0] = _condition("AbleToScale", "True", "ReadyForNewScale",
                                       "recommended size matches current size", previous)
        status.update(desiredReplicas=desired, currentMetrics=[p.status for p in proposals],
                      conditions=conditions)
        self._write_status(writer, hpa, status)

    def _write_status(self, writer: Writer, hpa: dict[str, Any], status: dict[str, Any]
                      ) -> None:
        patch = status_patch(hpa.get("status") or {}, status)
        if patch:
            writer.patch("horizontalpodautoscalers", hpa["metadata"]["namespace"],
                         hpa["metadata"]["name"], {"status": patch}, subresource="status")


def _epoch(text: str | None) -> float | None:
    moment = parse_time(text)
    return None if moment is None else moment.timestamp()
