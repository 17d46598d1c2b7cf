"""The HorizontalPodAutoscaler's decision (hpa_plan.py): replicas from CPU utilization with
upstream's tolerance and its treatment of missing and unready pods, then the behavior's
stabilization windows, rate policies and min/max."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from nodelab.controlplane.controllers.workloads.hpa_plan import (
    MetricError,
    PodUsage,
    ScaleEvent,
    normalize,
    pod_usage,
    readiness,
    resource_replicas,
    resource_requests,
    scale_down_limit,
    scale_up_limit,
    unready_sample,
    unrequested,
)
from nodelab.controlplane.controllers.workloads.hpa_plan import (
    container_resource_replicas as container_replicas,
)

pytestmark = pytest.mark.unit

CPU50: dict[str, Any] = {"type": "Resource", "resource": {
    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}


NOW = 10_000.0


def _pod(name: str, used: int | None, request: int = 100, ready: bool = True,
         pending: bool = False) -> PodUsage:
    """A pod started an hour ago whose readiness last changed at its start."""
    return PodUsage(name, ready, requests={"cpu": request},
                    usage=None if used is None else {"cpu": used}, pending=pending,
                    started=NOW - 3600, ready_changed=NOW - 3600, sampled=NOW - 5, window=15)


@pytest.mark.parametrize(("current", "pods", "replicas", "utilization"), [
    (1, [_pod("a", 500)], 10, 500),                          # 10x the target
    (2, [_pod("a", 50), _pod("b", 50)], 2, 50),              # on target
    (2, [_pod("a", 54), _pod("b", 54)], 2, 54),              # within the 10 % tolerance
    (4, [_pod("a", 10), _pod("b", 10), _pod("c", 10), _pod("d", 10)], 1, 10),
    # scaling up: a pod without metrics counts as 0, an unready one too
    (3, [_pod("a", 200), _pod("b", 200), _pod("c", None)], 8, 200),  # 400/300 % of 50
    (2, [_pod("a", 200), _pod("b", 0, ready=False)], 4, 200),
    # scaling down: a pod without metrics counts as using all of its request
    (3, [_pod("a", 10), _pod("b", 10), _pod("c", None)], 3, 10),  # 120/300 %: ceil(0.8x3)
    # an unready pod is left out of a scale-down: (10+10+100)/300 % again
    (4, [_pod("a", 10), _pod("b", 10), _pod("c", 0, ready=False), _pod("d", None)], 3, 10),
    # a Pending pod is unready, not missing: left out of a scale-down (20/200 %: 1 pod) ...
    (3, [_pod("a", 10), _pod("b", 10), _pod("c", None, pending=True)], 1, 10),
    # ... and counted as 0 in a scale-up: 400/300 % of 50 as with a missing one
    (3, [_pod("a", 200), _pod("b", 200), _pod("c", None, pending=True)], 8, 200),
    # the scale-up's new pods at 0 bring the ratio into the tolerance: nothing changes
    # (the one busy pod's 150 % over three requests is 50 %: the target)
    (3, [_pod("a", 150), _pod("b", None), _pod("c", 0, ready=False)], 3, 150),
])
def test_resource_replicas(current: int, pods: list[PodUsage], replicas: int,
                           utilization: int) -> None:
    proposal = resource_replicas(current, CPU50, pods, NOW)
    assert proposal.replicas == replicas
    assert proposal.status["resource"]["current"]["averageUtilization"] == utilization
    assert proposal.description == "cpu resource utilization (percentage of request)"


@pytest.mark.parametrize(("started", "ready", "changed", "sampled", "unready"), [
    (None, True, NOW - 60, NOW, True),               # no start time
    (NOW - 60, True, None, NOW, True),               # no Ready condition
    # within the CPU initialization period (5 min): not Ready, or sampled less than one
    # window (15 s) after readiness changed (the sample may be the start-up's)
    (NOW - 60, False, NOW - 50, NOW, True),
    (NOW - 60, True, NOW - 50, NOW - 40, True),
    (NOW - 60, True, NOW - 50, NOW - 30, False),
    # after it: only a pod never Ready (unready since within 30 s of its start)
    (NOW - 600, False, NOW - 590, NOW, True),
    (NOW - 600, False, NOW - 100, NOW, False),       # was Ready, then failed its probe
    (NOW - 600, True, NOW - 599, NOW - 590, False),
])
def test_an_unready_cpu_sample_as_upstreams_group_pods(
        started: float | None, ready: bool, changed: float | None, sampled: float,
        unready: bool) -> None:
    pod = PodUsage("a", ready, started=started, ready_changed=changed, sampled=sampled,
                   window=15)
    assert unready_sample(pod, NOW) is unready


@pytest.mark.parametrize(("conditions", "found"), [
    ([], (False, None)),
    ([{"type": "Initialized", "status": "True"}], (False, None)),
    ([{"type": "Ready", "status": "True", "lastTransitionTime": "1970-01-01T00:01:40Z"}],
     (True, 100.0)),
    ([{"type": "Ready", "status": "False", "lastTransitionTime": "1970-01-01T00:01:40Z"}],
     (False, 100.0)),
    # upstream tests Status == False: Unknown is not unready
    ([{"type": "Ready", "status": "Unknown", "lastTransitionTime": "1970-01-01T00:01:40Z"}],
     (True, 100.0)),
    ([{"type": "Ready", "status": "True"}], (True, 0.0)),  # no transition time: long ago
])
def test_readiness_of_a_pods_conditions(conditions: list[dict[str, Any]],
                                        found: tuple[bool, float | None]) -> None:
    assert readiness(conditions) == found


def test_no_ready_sample_is_upstreams_error() -> None:
    with pytest.raises(MetricError, match="did not receive metrics for targeted pods "
                                          r"\(pods might be unready\)"):
        resource_replicas(1, CPU50, [_pod("a", 50, ready=False)], NOW)


def test_average_value_target() -> None:
    metric = {"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "AverageValue", "averageValue": "100m"}}}
    proposal = resource_replicas(2, metric, [_pod("a", 300), _pod("b", 300)], NOW)
    assert proposal.replicas == 6 and proposal.status["resource"]["current"] == {
        "averageValue": "300m"}


def _unrequested(pod: PodUsage) -> PodUsage:
    """The pod with its container `app` requesting no cpu."""
    return replace(pod, requests={}, unrequested={"cpu": "app"})


NO_REQUEST = "^failed to get cpu utilization: missing request for cpu in container app of Pod "
NO_METRICS = "no metrics returned from resource metrics API"
NO_READY_SAMPLE = r"did not receive metrics for targeted pods \(pods might be unready\)"


@pytest.mark.parametrize(("pods", "message"), [
    # upstream's order: the metrics API's answer, then groupPods, then calculateRequests
    ([], NO_METRICS),  # the metrics API lists no pods either
    ([_pod("a", None)], NO_METRICS),
    ([_unrequested(_pod("a", None))], NO_METRICS),  # not the missing request
    ([_unrequested(_pod("a", 5))], NO_REQUEST + "a$"),
    # no ready sample comes before the missing request
    ([_unrequested(_pod("a", 5, ready=False))], NO_READY_SAMPLE),
    ([_unrequested(_pod("a", 5, pending=True))], NO_READY_SAMPLE),
    ([_unrequested(replace(_pod("a", 5), deleting=True))], NO_READY_SAMPLE),
    ([replace(_pod("a", 5), failed=True)], NO_READY_SAMPLE),
    ([_pod("a", 5, ready=False), _unrequested(_pod("b", None))], NO_READY_SAMPLE),
    # a pod left out (being deleted, Failed, without a sample) still needs its request
    ([_pod("a", 5), _unrequested(replace(_pod("b", 5), deleting=True))], NO_REQUEST + "b$"),
    ([_pod("a", 5), _unrequested(replace(_pod("b", 5), failed=True))], NO_REQUEST + "b$"),
    ([_pod("a", 5), _unrequested(_pod("b", None))], NO_REQUEST + "b$"),
    ([_pod("a", 5), _unrequested(_pod("b", 5, ready=False))], NO_REQUEST + "b$"),
])
def test_metric_errors(pods: list[PodUsage], message: str) -> None:
    with pytest.raises(MetricError, match=message) as caught:
        resource_replicas(1, CPU50, pods, NOW)
    assert caught.value.reason == "FailedGetResourceMetric"


def test_default_scale_up_is_the_larger_of_4_pods_and_100_percent() -> None:
    assert scale_up_limit(1, [], {"selectPolicy": "Max", "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15}]}, 100.0) == 5
    assert scale_up_limit(10, [], {"selectPolicy": "Max", "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15}]}, 100.0) == 20
    # a scale-up 5 s ago is counted against the period
    assert scale_up_limit(5, [ScaleEvent(95.0, 4)], {"selectPolicy": "Max", "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15}]}, 100.0) == 5
    assert scale_down_limit(4, [], {"selectPolicy": "Max", "policies": [
        {"type": "Pods", "value": 1, "periodSeconds": 60}]}, 0.0) == 3


@pytest.mark.parametrize(("spec", "current", "proposed", "history", "expected", "reason"), [
    ({"minReplicas": 1, "maxReplicas": 3}, 1, 10, (), 3, "TooManyReplicas"),
    ({"minReplicas": 2, "maxReplicas": 10}, 1, 1, (), 1, "DesiredWithinRange"),
    ({"minReplicas": 1, "maxReplicas": 20}, 1, 10, (), 5, "ScaleUpLimit"),
    # scale down waits for the highest recommendation of the last 300 s
    ({"minReplicas": 1, "maxReplicas": 10}, 4, 1, ((50.0, 4),), 4, "DesiredWithinRange"),
    ({"minReplicas": 1, "maxReplicas": 10, "behavior": {"scaleDown": {
        "stabilizationWindowSeconds": 0}}}, 4, 1, ((50.0, 4),), 1, "DesiredWithinRange"),
    ({"minReplicas": 3, "maxReplicas": 10, "behavior": {"scaleDown": {
        "stabilizationWindowSeconds": 0}}}, 4, 1, (), 3, "TooFewReplicas"),
])
def test_normalize(spec: dict[str, Any], current: int, proposed: int,
                   history: tuple[tuple[float, int], ...], expected: int,
                   reason: str) -> None:
    found = normalize(spec, current, proposed, history, [], 100.0)
    assert (found.replicas, found.limited[1]) == (expected, reason)
    assert found.recommendations[-1] == (100.0, proposed)


def test_requests_and_usage_from_objects() -> None:
    pod = {"spec": {"containers": [
        {"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
        {"resources": {"requests": {"cpu": "1"}}}]}}
    assert resource_requests(pod) == {"cpu": 1100}  # memory missing in one container
    assert unrequested({"spec": {"containers": [
        {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
        {"name": "b", "resources": {"requests": {"cpu": "1"}}},
        {"name": "c"}]}}) == {"memory": "b", "cpu": "c"}
    assert pod_usage({"containers": [{"usage": {"cpu": "250m", "memory": "1Ki"}},
                                     {"usage": {"cpu": "6778281n"}}]}) == {
        "cpu": 257, "memory": 1024000}


def test_one_containers_requests_and_usage() -> None:
    pod = {"spec": {"containers": [
        {"name": "app", "resources": {"requests": {"cpu": "100m"}}},
        {"name": "proxy", "resources": {"requests": {"cpu": "1", "memory": "1Mi"}}}]}}
    assert resource_requests(pod, "app") == {"cpu": 100}
    assert unrequested(pod, "app") == {"memory": "app"} and unrequested(pod, "proxy") == {}
    metrics = {"containers": [{"name": "app", "usage": {"cpu": "250m"}},
                              {"name": "proxy", "usage": {"cpu": "10m"}}]}
    assert pod_usage(metrics, "app") == {"cpu": 250} and pod_usage(metrics) == {"cpu": 260}


def test_a_container_resource_metric() -> None:
    metric = {"type": "ContainerResource", "containerResource": {
        "name": "cpu", "container": "app",
        "target": {"type": "Utilization", "averageUtilization": 50}}}
    proposal = container_replicas(2, metric, [_pod("a", 100), _pod("b", 100)], NOW)
    assert proposal.replicas == 4
    assert proposal.status == {"type": "ContainerResource", "containerResource": {
        "name": "cpu", "container": "app",
        "current": {"averageValue": "100m", "averageUtilization": 100}}}
    assert proposal.description == "cpu container resource utilization (percentage of request)"
    with pytest.raises(MetricError, match="missing request") as caught:
        container_replicas(1, metric, [replace(_pod("a", 5), requests={})], NOW)
    assert caught.value.reason == "FailedGetContainerResourceMetric"


@pytest.mark.parametrize(("status", "replicas"), [
    ("Unknown", 8),  # counted: (200+200)/200 % of 50 -> ceil(4 x 2)
    ("False", 4),  # unready: 200/100 %, then at 0 in the scale-up: (200+0)/200 % -> 4
])
def test_a_pods_ready_condition_in_the_replica_count(status: str, replicas: int) -> None:
    """A pod started 60 s ago whose Ready condition changed 10 s after its start (within the
    CPU initialization period, its sample a window after the change)."""
    ready, changed = readiness([{"type": "Ready", "status": status,
                                 "lastTransitionTime": "1970-01-01T02:45:50Z"}])
    assert changed == NOW - 50
    young = replace(_pod("b", 200), ready=ready, started=NOW - 60, ready_changed=changed)
    assert resource_replicas(2, CPU50, [_pod("a", 200), young], NOW).replicas == replicas
