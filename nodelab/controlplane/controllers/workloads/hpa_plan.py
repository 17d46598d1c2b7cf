"""The HorizontalPodAutoscaler's decision (autoscaling/v2, resource metrics), as upstream's
podautoscaler controller computes it (pure; `hpa.py` carries it out).

1. **Replicas from a resource metric** (`replica_calculator.go` GetResourceReplicas): the
   pods of the target's selector that are not being deleted and not Failed. In upstream's
   order: no sample of any pod is `no metrics returned from resource metrics API`; no sample
   of a ready pod (below) `did not receive metrics for targeted pods`; then every pod (those
   left out too) needs a request for the resource (else `missing request for cpu`). Upstream's
   `no pods returned by selector` comes after the first and needs samples of pods the pod
   list no longer has: the plan sees samples only of listed pods, so it never arises here.
   Utilization = the sum of the
   pods' usage / the sum of their requests (percent); the ratio to the target decides: within
   the tolerance (0.1) nothing changes, else `ceil(ratio x pods with metrics)`. Pods without
   metrics count as using max(100 %, target) of their request when scaling down and 0 when
   scaling up; unready pods (`groupPods`: Pending ones, and for CPU a pod whose sample may
   still be its start-up: no Ready condition or start time, within the CPU initialization
   period (5 min) not Ready or sampled less than one window after its readiness changed,
   after it not Ready and never Ready since its start + 30 s) are left out, and count as 0
   when scaling up; if that turns the direction round or into the tolerance, nothing
   changes. `AverageValue` targets
   divide the summed usage by the target value instead.
2. **Several metrics**: the largest proposal wins.
3. **Behavior** (`normalizeDesiredReplicasWithBehaviors`): the stabilization windows (scale
   up: the lowest recommendation of the window, default 0 s; scale down: the highest, default
   300 s), then the rate policies of the direction over the scale events of their periods
   (defaults: up by max(100 %, 4 pods) per 15 s; down by 100 % per 15 s), then
   `minReplicas`..`maxReplicas`; the ScalingLimited condition says which bound applied.

ContainerResource metrics are the same over one container's requests and usage
(`container_resource_replicas`). Not served here: Pods, Object and External metrics (no custom
or external metrics API exists in a lab): `hpa_sources.py` fails them as upstream does without
those APIs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nodelab.kube.quantities import format_cpu, parse_quantity
from nodelab.kubewire.times import parse_time

TOLERANCE = 0.1
CPU_INITIALIZATION_PERIOD = 300.0  # --horizontal-pod-autoscaler-cpu-initialization-period
INITIAL_READINESS_DELAY = 30.0  # --horizontal-pod-autoscaler-initial-readiness-delay
DEFAULT_UP: dict[str, Any] = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                              "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                           {"type": "Percent", "value": 100,
                                            "periodSeconds": 15}]}
DEFAULT_DOWN: dict[str, Any] = {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                                "policies": [{"type": "Percent", "value": 100,
                                              "periodSeconds": 15}]}


class MetricError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class PodUsage:
    """One pod of the target: its requests and (when metrics-server has them) usage, in
    milli-units (millicores for cpu, milli-bytes for memory). Times are Unix seconds: the
    pod's start, its Ready condition's last transition (None: no Ready condition) and its
    sample's timestamp and window. `ready`: the Ready condition is not False (upstream tests
    `Status == ConditionFalse`, so an Unknown one is not unready: `readiness`)."""

    name: str
    ready: bool
    failed: bool = False
    deleting: bool = False
    requests: dict[str, int] = field(default_factory=dict)
    usage: dict[str, int] | None = None
    unrequested: dict[str, str] = field(default_factory=dict)  # resource -> a container without
    pending: bool = False
    started: float | None = None
    ready_changed: float | None = None
    sampled: float = 0.0
    window: float = 0.0


def readiness(conditions: Sequence[dict[str, Any]]) -> tuple[bool, float | None]:
    """(not False, last transition in Unix seconds; None without a Ready condition) of a
    pod's first Ready condition; a transition time missing is Go's zero time (long ago)."""
    for condition in conditions:
        if condition.get("type") == "Ready":
            moment = parse_time(condition.get("lastTransitionTime"))
            return (condition.get("status") != "False",
                    moment.timestamp() if moment is not None else 0.0)
    return False, None


def unready_sample(pod: PodUsage, now: float) -> bool:
    """Upstream's groupPods for a CPU sample: whether it may still be the pod's start-up."""
    if pod.ready_changed is None or pod.started is None:
        return True
    if pod.started + CPU_INITIALIZATION_PERIOD > now:
        return not pod.ready or pod.sampled < pod.ready_changed + pod.window
    return not pod.ready and pod.started + INITIAL_READINESS_DELAY > pod.ready_changed


@dataclass(frozen=True)
class Proposal:
    replicas: int
    status: dict[str, Any]  # the MetricStatus for status.currentMetrics
    description: str  # "cpu resource utilization (percentage of request)"


def resource_replicas(current: int, metric: dict[str, Any], pods: Sequence[PodUsage],
                      now: float, tolerance: float = TOLERANCE) -> Proposal:
    resource = metric.get("resource") or {}
    name = str(resource.get("name", ""))
    target = resource.get("target") or {}
    # upstream's order: the metrics API's answer, groupPods, then the requests (of every pod)
    if not any(p.usage is not None and name in p.usage for p in pods):
        raise MetricError("FailedGetResourceMetric",
                          f"failed to get {name} utilization: unable to get metrics for "
                          f"resource {name}: no metrics returned from resource metrics API")
    live = [p for p in pods if not p.deleting and not p.failed]  # not ignored
    measured = [p for p in live if p.usage is not None and name in p.usage]
    missing = [p for p in live if p not in measured and not p.pending]
    unready = [p for p in live if p.pending or (
        p in measured and name == "cpu" and unready_sample(p, now))]
    ready = [p for p in measured if p not in unready]
    usage_of = {p.name: (p.usage or {}).get(name, 0) for p in measured}
    if not ready:
        raise MetricError("FailedGetResourceMetric",
                          f"failed to get {name} utilization: did not receive metrics for "
                          "targeted pods (pods might be unready)")
    if target.get("type") == "Utilization":
        for pod in pods:
            if name not in pod.requests:
                raise MetricError("FailedGetResourceMetric",
                                  f"failed to get {name} utilization: missing request for "
                                  f"{name} in container {pod.unrequested.get(name, '')} of Pod "
                                  f"{pod.name}")
    if target.get("type") == "Utilization":
        goal = int(target.get("averageUtilization") or 0)

        def ratio_of(counted: Sequence[PodUsage], extra: dict[str, int]) -> tuple[float, int]:
            used = sum(usage_of.get(p.name, 0) for p in counted) + sum(extra.values())
            requested = sum(p.requests[name] for p in counted) + sum(
                next(q for q in live if q.name == n).requests[name] for n in extra)
            utilization = int(used * 100 / requested) if requested else 0
            return (utilization / goal if goal else 0.0), utilization
    else:
        goal_value = parse_quantity(str(target.get("averageValue") or "0"), milli=True)

        def ratio_of(counted: Sequence[PodUsage], extra: dict[str, int]) -> tuple[float, int]:
            used = sum(usage_of.get(p.name, 0) for p in counted) + sum(extra.values())
            count = len(counted) + len(extra)
            return (used / (goal_value * count) if goal_value and count else 0.0), (
                used // count if count else 0)

    ratio, shown = ratio_of(ready, {})
    average = sum(usage_of.get(p.name, 0) for p in ready) // max(1, len(ready))
    desired = current
    up_with_unready = bool(unready) and ratio > 1.0
    if not up_with_unready and not missing:
        if abs(1.0 - ratio) > tolerance:
            desired = math.ceil(ratio * len(ready))
    else:
        extra: dict[str, int] = {}
        if missing and ratio < 1.0:  # scale-down: missing pods use the target or all
            goal_percent = max(100, int(target.get("averageUtilization") or 100))
            extra.update({p.name: p.requests.get(name, 0) * goal_percent // 100
                          for p in missing})
        elif missing and ratio > 1.0:  # scale-up: missing pods use nothing
            extra.update({p.name: 0 for p in missing})
        if up_with_unready:
            extra.update({p.name: 0 for p in unready})
        new_ratio, _ = ratio_of(ready, extra)
        if not (abs(1.0 - new_ratio) <= tolerance or (ratio < 1.0 < new_ratio)
                or (new_ratio < 1.0 < ratio)):
            desired = math.ceil(new_ratio * (len(ready) + len(extra)))
            if (new_ratio < 1.0 and desired > current) or (new_ratio > 1.0
                                                           and desired < current):
                desired = current
    current_status: dict[str, Any] = {"averageValue": format_cpu(average)}
    if target.get("type") == "Utilization":
        current_status["averageUtilization"] = shown
        description = f"{name} resource utilization (percentage of request)"
    else:
        description = f"{name} resource"
    return Proposal(desired, {"type": "Resource", "resource": {"name": name,
                                                               "current": current_status}},
                    description)


def container_resource_replicas(current: int, metric: dict[str, Any], pods: Sequence[PodUsage],
                                now: float, tolerance: float = TOLERANCE) -> Proposal:
    """A ContainerResource metric: `resource_replicas` over the one container's requests and
    usage (the caller's `pods`), with upstream's reason, status and description."""
    spec = metric.get("containerResource") or {}
    name = str(spec.get("name", ""))
    as_resource = {"type": "Resource", "resource": {"name": name, "target": spec.get("target")}}
    try:
        found = resource_replicas(current, as_resource, pods, now, tolerance)
    except MetricError as exc:
        raise MetricError("FailedGetContainerResourceMetric", exc.message) from exc
    description = found.description.replace(f"{name} resource utilization",
                                            f"{name} container resource utilization")
    return Proposal(found.replicas, {"type": "ContainerResource", "containerResource": {
        "name": name, "container": spec.get("container"),
        "current": found.status["resource"]["current"]}}, description)


@dataclass(frozen=True)
class ScaleEvent:
    at: float  # seconds (monotonic or epoch: only differences matter)
    change: int  # replicas added (> 0) or removed (< 0)


def _period_change(events: Sequence[ScaleEvent], now: float, period: int) -> tuple[int, int]:
    added = sum(e.change for e in events if e.change > 0 and e.at > now - period)
    removed = sum(-e.change for e in events if e.change < 0 and e.at > now - period)
    return added, removed


def scale_up_limit(current: int, events: Sequence[ScaleEvent], rules: dict[str, Any],
                   now: float) -> int:
    if rules.get("selectPolicy") == "Disabled":
        return current
    proposals = []
    for policy in rules.get("policies") or []:
        added, removed = _period_change(events, now, int(policy.get("periodSeconds", 15)))
        start = current - added + removed
        if policy.get("type") == "Pods":
            proposals.append(start + int(policy["value"]))
        else:
            proposals.append(math.ceil(start * (1 + int(policy["value"]) / 100)))
    if not proposals:
        return current
    return min(proposals) if rules.get("selectPolicy") == "Min" else max(proposals)


def scale_down_limit(current: int, events: Sequence[ScaleEvent], rules: dict[str, Any],
                     now: float) -> int:
    if rules.get("selectPolicy") == "Disabled":
        return current
    proposals = []
    for policy in rules.get("policies") or []:
        added, removed = _period_change(events, now, int(policy.get("periodSeconds", 15)))
        start = current + removed - added
        if policy.get("type") == "Pods":
            proposals.append(start - int(policy["value"]))
        else:
            proposals.append(int(start * (1 - int(policy["value"]) / 100)))
    if not proposals:
        return current
    return max(proposals) if rules.get("selectPolicy") == "Min" else min(proposals)


@dataclass(frozen=True)
class Normalized:
    replicas: int
    limited: tuple[str, str, str]  # ScalingLimited (status, reason, message)
    recommendations: tuple[tuple[float, int], ...]


def behavior_of(spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    behavior = spec.get("behavior") or {}
    return ({**DEFAULT_UP, **(behavior.get("scaleUp") or {})},
            {**DEFAULT_DOWN, **(behavior.get("scaleDown") or {})})


def normalize(spec: dict[str, Any], current: int, proposed: int,
              recommendations: Sequence[tuple[float, int]], events: Sequence[ScaleEvent],
              now: float) -> Normalized:
    up, down = behavior_of(spec)
    minimum, maximum = int(spec.get("minReplicas") or 1), int(spec.get("maxReplicas") or 1)
    up_cut = now - int(up.get("stabilizationWindowSeconds") or 0)
    down_cut = now - int(down.get("stabilizationWindowSeconds") or 0)
    up_rec = down_rec = proposed
    kept = []
    for at, replicas in recommendations:
        if at > up_cut:
            up_rec = min(up_rec, replicas)
        if at > down_cut:
            down_rec = max(down_rec, replicas)
        if at > min(up_cut, down_cut):
            kept.append((at, replicas))
    stabilized = max(current, up_rec) if current < up_rec else current
    stabilized = min(stabilized, down_rec) if stabilized > down_rec else stabilized
    kept.append((now, proposed))
    desired, limited = stabilized, ("False", "DesiredWithinRange",
                                    "the desired count is within the acceptable range")
    if desired > current:
        limit = max(current, scale_up_limit(current, events, up, now))
        if desired > limit:
            desired, limited = limit, ("True", "ScaleUpLimit",
                                       "the desired replica count is increasing faster than "
                                       "the maximum scale rate")
        if desired > maximum:
            desired, limited = maximum, ("True", "TooManyReplicas",
                                         "the desired replica count is more than the maximum "
                                         "replica count")
    elif desired < current:
        limit = min(current, scale_down_limit(current, events, down, now))
        if desired < limit:
            desired, limited = limit, ("True", "ScaleDownLimit",
                                       "the desired replica count is decreasing faster than "
                                       "the maximum scale rate")
        if desired < minimum:
            desired, limited = minimum, ("True", "TooFewReplicas",
                                         "the desired replica count is less than the minimum "
                                         "replica count")
    return Normalized(desired, limited, tuple(kept))


def _containers(pod: dict[str, Any], container: str | None) -> list[dict[str, Any]]:
    return [c for c in (pod.get("spec") or {}).get("containers") or []
            if container is None or c.get("name") == container]


def resource_requests(pod: dict[str, Any], container: str | None = None) -> dict[str, int]:
    """The pod's summed container requests (milli-units; only `container`'s when given); a
    resource missing in any container is left out (upstream: `missing request`)."""
    containers = _containers(pod, container)
    found: dict[str, int] = {}
    for resource in ("cpu", "memory"):
        values = [((c.get("resources") or {}).get("requests") or {}).get(resource)
                  for c in containers]
        if containers and all(v is not None for v in values):
            found[resource] = sum(parse_quantity(str(v), milli=True) for v in values)
    return found


def unrequested(pod: dict[str, Any], only: str | None = None) -> dict[str, str]:
    """Per resource, the first container (of `only`) without a request for it (upstream's
    calculateRequests names it: `missing request for cpu in container C of Pod P`)."""
    found: dict[str, str] = {}
    for container in _containers(pod, only):
        for resource in ("cpu", "memory"):
            if resource not in ((container.get("resources") or {}).get("requests") or {}):
                found.setdefault(resource, str(container.get("name", "")))
    return found


def pod_usage(metrics: dict[str, Any], only: str | None = None) -> dict[str, int]:
    """A PodMetrics' usage summed over its containers (`only`'s when given), milli-units."""
    found: dict[str, int] = {}
    for container in metrics.get("containers") or []:
        if only is not None and container.get("name") != only:
            continue
        for resource, value in (container.get("usage") or {}).items():
            found[resource] = found.get(resource, 0) + parse_quantity(str(value), milli=True)
    return found
