"""Metrics a lab's HPA cannot read fail with upstream's texts, and several metrics combine as
upstream's computeReplicasForMetrics does (hpa_sources.py)."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.controllers.workloads.hpa_plan import MetricError
from nodelab.controlplane.controllers.workloads.hpa_sources import (
    stops,
    unserved,
    wrapped,
)
from nodelab.kube.label_selectors import go_string

pytestmark = pytest.mark.unit

CUSTOM = ("unable to fetch metrics from custom metrics API: no custom metrics API "
          "(custom.metrics.k8s.io) registered")
PODS: dict[str, Any] = {"type": "Pods", "pods": {
    "metric": {"name": "http_requests_per_second"},
    "target": {"type": "AverageValue", "averageValue": "500m"}}}
OBJECT: dict[str, Any] = {"type": "Object", "object": {
    "metric": {"name": "http_requests"},
    "describedObject": {"apiVersion": "v1", "kind": "Service", "name": "mycluster-instances"},
    "target": {"type": "Value", "value": "10"}}}
EXTERNAL: dict[str, Any] = {"type": "External", "external": {
    "metric": {"name": "queue_messages", "selector": {"matchLabels": {"queue": "worker_tasks"}}},
    "target": {"type": "AverageValue", "averageValue": "30"}}}


@pytest.mark.parametrize(("metric", "reason", "message"), [
    (PODS, "FailedGetPodsMetric", f"unable to get metric http_requests_per_second: {CUSTOM}"),
    (OBJECT, "FailedGetObjectMetric",
     f"unable to get metric http_requests: Service on shop mycluster-instances/{CUSTOM}"),
    (EXTERNAL, "FailedGetExternalMetric",
     "unable to get external metric shop/queue_messages/&LabelSelector{MatchLabels:"
     "map[string]string{queue: worker_tasks,},MatchExpressions:[]LabelSelectorRequirement{},}: "
     "unable to fetch metrics from external metrics API: the server could not find the "
     "requested resource (get queue_messages.external.metrics.k8s.io)"),
])
def test_unserved_metrics_fail_with_upstreams_texts(metric: dict[str, Any], reason: str,
                                                     message: str) -> None:
    error = unserved(metric, "shop")
    assert (error.reason, error.message) == (reason, message)


@pytest.mark.parametrize(("selector", "text"), [
    (None, "nil"),
    ({}, "&LabelSelector{MatchLabels:map[string]string{},"
         "MatchExpressions:[]LabelSelectorRequirement{},}"),
    ({"matchLabels": {"b": "2", "a": "1"},
      "matchExpressions": [{"key": "tier", "operator": "In", "values": ["x", "y"]}]},
     "&LabelSelector{MatchLabels:map[string]string{a: 1,b: 2,},MatchExpressions:"
     "[]LabelSelectorRequirement{LabelSelectorRequirement{Key:tier,Operator:In,"
     "Values:[x y],},},}"),
])
def test_selector_string_is_gos(selector: dict[str, Any] | None, text: str) -> None:
    assert go_string(selector) == text


@pytest.mark.parametrize(("metric", "prefix"), [
    (PODS, "failed to get pods metric value: "),
    (OBJECT, "failed to get object metric value: "),
    (EXTERNAL, "failed to get queue_messages external metric: "),
    ({"type": "Resource", "resource": {"name": "cpu"}},
     "failed to get cpu resource metric value: "),
    ({"type": "ContainerResource", "containerResource": {"container": "app"}},
     "failed to get app container metric value: "),
])
def test_wrapped_is_what_compute_replicas_for_metric_returns(metric: dict[str, Any],
                                                            prefix: str) -> None:
    assert wrapped(metric, MetricError("R", "the error")) == prefix + "the error"


@pytest.mark.parametrize(("metrics", "invalid", "proposed", "current", "expected"), [
    (1, 0, 3, 2, False),  # all fine
    (1, 1, None, 2, True),  # the only metric failed
    (2, 2, None, 2, True),  # every metric failed
    (2, 1, 3, 2, False),  # cpu says up: scale on it
    (2, 1, 2, 2, False),  # cpu says stay: keep on it
    (2, 1, 1, 2, True),  # cpu says down while another failed: stop (upstream)
])
def test_stops_as_upstream(metrics: int, invalid: int, proposed: int | None, current: int,
                           expected: bool) -> None:
    assert stops(metrics, invalid, proposed, current) is expected
