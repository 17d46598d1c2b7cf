"""A pod's QoS class, against upstream's qos_test.go cases (TestComputePodQOS)."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.kube.pod.qos import compute_pod_qos, pod_qos

pytestmark = pytest.mark.unit


def container(requests: dict[str, str] | None = None,
              limits: dict[str, str] | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if requests is not None:
        resources["requests"] = requests
    if limits is not None:
        resources["limits"] = limits
    return {"name": "c", "image": "busybox", "resources": resources}


def spec(*containers: dict[str, Any], init: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    return {"containers": list(containers), "initContainers": list(init)}


BOTH = {"cpu": "100m", "memory": "100Mi"}


@pytest.mark.parametrize("pod_spec, expected", [
    (spec(container()), "BestEffort"),
    (spec(container(), container()), "BestEffort"),
    # only cpu and memory count: an extended resource or a zero quantity is not a request
    (spec(container({"nvidia.com/gpu": "1"}, {"nvidia.com/gpu": "1"})), "BestEffort"),
    (spec(container({"cpu": "0", "memory": "0"})), "BestEffort"),
    (spec(container({"ephemeral-storage": "1Gi"})), "BestEffort"),
    (spec(container(BOTH, BOTH)), "Guaranteed"),
    (spec(container(BOTH, BOTH), container(BOTH, BOTH)), "Guaranteed"),
    (spec(container(None, BOTH)), "Guaranteed"),  # the requests default to the limits
    (spec(container({"cpu": "0.1", "memory": "104857600"}, BOTH)), "Guaranteed"),  # equal values
    (spec(container({**BOTH, "nvidia.com/gpu": "2"}, {**BOTH, "nvidia.com/gpu": "2"})),
     "Guaranteed"),
    (spec(container(BOTH, BOTH), container()), "Burstable"),
    (spec(container(BOTH, BOTH), container({"cpu": "100m"})), "Burstable"),
    (spec(container({"cpu": "100m"}, {"cpu": "100m"})), "Burstable"),  # no memory limit
    (spec(container({"cpu": "100m", "memory": "50Mi"}, BOTH)), "Burstable"),
    (spec(container({"memory": "100Mi"})), "Burstable"),
    # init containers count too
    (spec(container(BOTH, BOTH), init=(container({"memory": "1Gi"}),)), "Burstable"),
    (spec(container(), init=(container({"cpu": "1"}),)), "Burstable"),
    # upstream compares the sums over the containers, per resource
    (spec(container({"cpu": "1", "memory": "1Gi"}, {"cpu": "2", "memory": "1Gi"}),
          container({"cpu": "2", "memory": "1Gi"}, {"cpu": "1", "memory": "1Gi"})),
     "Guaranteed"),
])
def test_compute_pod_qos(pod_spec: dict[str, Any], expected: str) -> None:
    assert compute_pod_qos(pod_spec) == expected


def test_the_stored_class_comes_first() -> None:
    pod = {"spec": spec(container()), "status": {"qosClass": "Burstable"}}
    assert pod_qos(pod) == "Burstable"
    assert pod_qos({"spec": spec(container()), "status": {}}) == "BestEffort"
