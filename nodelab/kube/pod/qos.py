"""A pod's QoS class (upstream's pkg/apis/core/v1/helper/qos), the one copy the API server
(`status.qosClass` at create) and the kubelet (cgroup parent, OOM score, eviction and
admission) use.

As upstream's ComputePodQOS, over the containers and init containers, counting only cpu and
memory quantities above zero:
- **BestEffort**: none requests or limits either;
- **Guaranteed**: every container limits both cpu and memory, and, per resource, the sum of
  the requests equals the sum of the limits;
- **Burstable**: everything else.

A limit without a request requests the limit, as the API server's defaulting writes it, so a
pod not defaulted yet gets the class it will have. `pod_qos` is upstream's GetPodQOS: the
`status.qosClass` the API server set, else the computed class.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from nodelab.kube.objects import ObjectView
from nodelab.kube.quantities import quantity_value

GUARANTEED, BURSTABLE, BEST_EFFORT = "Guaranteed", "Burstable", "BestEffort"
QOS_RESOURCES = ("cpu", "memory")  # upstream's supportedQoSComputeResources


def _positive(quantities: Mapping[str, Any]) -> dict[str, Decimal]:
    values = {name: quantity_value(value) for name, value in quantities.items()
              if name in QOS_RESOURCES}
    return {name: value for name, value in values.items() if value > 0}


def compute_pod_qos(spec: ObjectView) -> str:
    """The QoS class of a pod with this spec."""
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        resources = container.get("resources") or {}
        own_limits = _positive(resources.get("limits") or {})
        own_requests = _positive({**(resources.get("limits") or {}),
                                  **(resources.get("requests") or {})})
        for name, value in own_requests.items():
            requests[name] = requests.get(name, Decimal(0)) + value
        for name, value in own_limits.items():
            limits[name] = limits.get(name, Decimal(0)) + value
        if not set(QOS_RESOURCES) <= own_limits.keys():
            guaranteed = False
    if not requests and not limits:
        return BEST_EFFORT
    if guaranteed and requests.keys() == limits.keys() and all(
            limits[name] == value for name, value in requests.items()):
        return GUARANTEED
    return BURSTABLE


def pod_qos(pod: ObjectView) -> str:
    """The pod's QoS class: its `status.qosClass`, else computed from its spec."""
    stored = (pod.get("status") or {}).get("qosClass")
    return str(stored) if stored else compute_pod_qos(pod.get("spec") or {})
