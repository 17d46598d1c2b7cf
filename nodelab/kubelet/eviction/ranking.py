"""Eviction: which pod goes first under pressure, and what its status says afterwards.

Upstream's eviction manager, once a threshold is met, evicts **one pod per monitoring
interval**, chosen by `rank_pods`:

1. pods whose usage of the starved resource **exceeds their requests** go before those within
   their requests;
2. then by **priority** (`spec.priority`), lowest first;
3. then by **usage above requests**, largest first.

For memory the usage is the pod's working set; for disk its ephemeral-storage use; for pids
its process count (pids have no requests, so only priority and usage count). The evicted pod
ends `Failed` with reason `Evicted`, upstream's message ("The node was low on resource:
memory. Threshold quantity: 100Mi, available: 5Mi. Container app was using 70Mi, request is 0,
has larger consumption of memory. ") and a `DisruptionTarget` condition, and a Warning event
`Evicted` is recorded. Everything here is pure; `agent.py` measures and applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nodelab.kube.quantities import format_bytes, parse_quantity


@dataclass(frozen=True)
class PodUsage:
    """A pod on this node and its use of the starved resource (bytes or counts)."""

    pod: dict[str, Any]
    usage: int
    containers: Mapping[str, int] = field(default_factory=dict)  # container -> usage

    @property
    def priority(self) -> int:
        return int(self.pod.get("spec", {}).get("priority") or 0)

    def request(self, resource: str) -> int:
        return sum(container_requests(self.pod, resource).values())


def container_requests(pod: dict[str, Any], resource: str) -> dict[str, int]:
    """Each container's request of `resource` (bytes; 0 when unset)."""
    result = {}
    for container in pod.get("spec", {}).get("containers", []):
        requests = (container.get("resources") or {}).get("requests") or {}
        value = requests.get(resource)
        result[container["name"]] = parse_quantity(value) if value is not None else 0
    return result


def rank_pods(pods: Sequence[PodUsage], resource: str) -> list[PodUsage]:
    """Pods in upstream eviction order for `resource` (the first is evicted first)."""

    def key(item: PodUsage) -> tuple[int, int, int]:
        request = item.request(resource)
        exceeds = item.usage > request
        return (0 if exceeds else 1, item.priority, -(item.usage - request))

    return sorted(pods, key=key)


def eviction_message(
    resource: str, threshold: int, available: int, victim: PodUsage
) -> str:
    """Upstream's eviction message for `victim` (quantities in binary suffixes)."""
    text = (f"The node was low on resource: {resource}. "
            f"Threshold quantity: {format_bytes(threshold)}, "
            f"available: {format_bytes(max(available, 0))}. ")
    requests = container_requests(victim.pod, resource)
    for name, used in victim.containers.items():
        request = requests.get(name, 0)
        if used > request:
            text += (f"Container {name} was using {format_bytes(used)}, request is "
                     f"{format_bytes(request)}, has larger consumption of {resource}. ")
    return text


def evicted_status(message: str, now: str) -> dict[str, Any]:
    """The status patch of an evicted pod."""
    return {
        "phase": "Failed",
        "reason": "Evicted",
        "message": message,
        "conditions": [
            {
                "type": "DisruptionTarget",
                "status": "True",
                "reason": "TerminationByKubelet",
                "message": message,
                "lastTransitionTime": now,
            }
        ],
    }
