"""Resource arithmetic as the scheduler sees it: a pod's effective requests, a node's load.

A pod requests the larger of (the sum over its app containers, plus restartable init containers
which run alongside) and (each plain init container on its own), plus its overhead. For scoring,
a container with no request counts as 100m CPU and 200 MB of memory (upstream's non-zero
defaults), so empty pods still spread out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nodelab.kube.objects import ObjectView
from nodelab.kube.quantities import quantity_value

DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024


def is_extended_resource(name: str) -> bool:
    """upstream's IsExtendedResourceName: a domain-prefixed name outside kubernetes.io
    (`example.com/dongle`, `nvidia.com/gpu`), not a quota's `requests.` name."""
    return "/" in name and "kubernetes.io/" not in name and not name.startswith("requests.")


@dataclass
class Resources:
    milli_cpu: int = 0
    memory: int = 0
    scalar: dict[str, int] = field(default_factory=dict)

    def add(self, other: Resources) -> None:
        self.milli_cpu += other.milli_cpu
        self.memory += other.memory
        for name, value in other.scalar.items():
            self.scalar[name] = self.scalar.get(name, 0) + value

    def max_with(self, other: Resources) -> None:
        self.milli_cpu = max(self.milli_cpu, other.milli_cpu)
        self.memory = max(self.memory, other.memory)
        for name, value in other.scalar.items():
            self.scalar[name] = max(self.scalar.get(name, 0), value)

    @classmethod
    def from_list(cls, values: Mapping[str, Any] | None, *, non_zero: bool = False) -> Resources:
        values = values or {}
        result = cls()
        for name, raw in values.items():
            quantity = quantity_value(raw)
            if name == "cpu":
                milli = (quantity * 1000).to_integral_value(rounding="ROUND_CEILING")
                result.milli_cpu = int(milli)
            elif name == "memory":
                result.memory = int(quantity)
            else:
                result.scalar[name] = int(quantity)
        if non_zero:
            if "cpu" not in values:
                result.milli_cpu = DEFAULT_MILLI_CPU_REQUEST
            if "memory" not in values:
                result.memory = DEFAULT_MEMORY_REQUEST
        return result


def _requests(container: ObjectView, non_zero: bool) -> Resources:
    resources = container.get("resources") or {}
    requests = dict(resources.get("limits") or {})  # limits default the requests
    requests.update(resources.get("requests") or {})
    return Resources.from_list(requests, non_zero=non_zero)


def pod_requests(pod: ObjectView, *, non_zero: bool = False) -> Resources:
    spec = pod.get("spec") or {}
    total = Resources()
    for container in spec.get("containers") or []:
        total.add(_requests(container, non_zero))
    sidecars = Resources()
    for init in spec.get("initContainers") or []:
        init_requests = _requests(init, non_zero)
        if init.get("restartPolicy") == "Always":
            sidecars.add(init_requests)
            total.add(init_requests)
        else:
            running = Resources()
            running.add(sidecars)
            running.add(init_requests)
            total.max_with(running)
    total.add(Resources.from_list(spec.get("overhead")))
    return total


def node_allocatable(node: ObjectView) -> tuple[Resources, int]:
    """A node's allocatable resources and its pod limit."""
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    pods = int(quantity_value(allocatable.get("pods", "110")))
    rest = {k: v for k, v in allocatable.items() if k != "pods"}
    return Resources.from_list(rest), pods


def requested_on(pods: Iterable[ObjectView], *, non_zero: bool = False) -> Resources:
    total = Resources()
    for pod in pods:
        total.add(pod_requests(pod, non_zero=non_zero))
    return total
