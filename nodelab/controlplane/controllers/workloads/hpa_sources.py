"""The HPA's metric sources a lab cannot serve, and how failed metrics combine (pure).

A lab serves the resource metrics API (metrics.k8s.io) but neither the custom
(custom.metrics.k8s.io) nor the external metrics API (external.metrics.k8s.io), as a
cluster without their adapters. Upstream's controller then fails those metrics with the
errors of its metrics clients, which `unserved` reproduces: for a Pods metric
`unable to get metric NAME: unable to fetch metrics from custom metrics API: no custom metrics
API (custom.metrics.k8s.io) registered` (event `FailedGetPodsMetric`), for an Object metric the
same with `KIND on NAMESPACE NAME/` before the client's text (`FailedGetObjectMetric`), for an
External one `unable to get external metric NS/NAME/SELECTOR: unable to fetch metrics from
external metrics API: the server could not find the requested resource (get
NAME.external.metrics.k8s.io)` (`FailedGetExternalMetric`). The condition ScalingActive False
carries the same reason and `the HPA was unable to compute the replica count: <that text>`.

`wrapped` is the error upstream's computeReplicasForMetric returns around a metric's own
(`failed to get pods metric value: ...`), which `FailedComputeMetricsReplicas` quotes as the
first error; `stops` is upstream's rule for several metrics: the HPA stops (ScalingActive
False) when every metric failed, or when some failed and the others would scale down;
otherwise it scales on the metrics that worked.
"""

from __future__ import annotations

from typing import Any

from nodelab.controlplane.controllers.workloads.hpa_plan import MetricError
from nodelab.kube.label_selectors import go_string

CUSTOM_API_MISSING = ("unable to fetch metrics from custom metrics API: no custom metrics API "
                      "(custom.metrics.k8s.io) registered")


def unserved(metric: dict[str, Any], namespace: str) -> MetricError:
    """The error upstream's controller meets for a metric whose API a lab does not serve."""
    source = str(metric.get("type"))
    if source == "Pods":
        name = ((metric.get("pods") or {}).get("metric") or {}).get("name", "")
        return MetricError("FailedGetPodsMetric",
                           f"unable to get metric {name}: {CUSTOM_API_MISSING}")
    if source == "Object":
        spec = metric.get("object") or {}
        name = (spec.get("metric") or {}).get("name", "")
        described = spec.get("describedObject") or {}
        return MetricError("FailedGetObjectMetric",
                           f"unable to get metric {name}: {described.get('kind', '')} on "
                           f"{namespace} {described.get('name', '')}/{CUSTOM_API_MISSING}")
    if source == "External":
        identifier = (metric.get("external") or {}).get("metric") or {}
        name = identifier.get("name", "")
        return MetricError("FailedGetExternalMetric",
                           f"unable to get external metric {namespace}/{name}/"
                           f"{go_string(identifier.get('selector'))}: unable to fetch "
                           "metrics from external metrics API: the server could not find the "
                           f"requested resource (get {name}.external.metrics.k8s.io)")
    return MetricError("InvalidMetricSourceType", f"unknown metric source type {source!r}")


def wrapped(metric: dict[str, Any], error: MetricError) -> str:
    """The metric's error as upstream's computeReplicasForMetric returns it."""
    source = str(metric.get("type"))
    if source == "Pods":
        return f"failed to get pods metric value: {error.message}"
    if source == "Object":
        return f"failed to get object metric value: {error.message}"
    if source == "Resource":
        name = (metric.get("resource") or {}).get("name", "")
        return f"failed to get {name} resource metric value: {error.message}"
    if source == "ContainerResource":
        container = (metric.get("containerResource") or {}).get("container", "")
        return f"failed to get {container} container metric value: {error.message}"
    if source == "External":
        name = ((metric.get("external") or {}).get("metric") or {}).get("name", "")
        return f"failed to get {name} external metric: {error.message}"
    return error.message


def stops(metrics: int, invalid: int, proposed: int | None, current: int) -> bool:
    """Upstream's rule: stop when every metric failed, or some failed and the rest would
    scale down (`proposed` below `current`)."""
    if invalid == 0:
        return False
    return invalid >= metrics or proposed is None or proposed < current
