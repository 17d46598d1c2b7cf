"""The eviction manager's admit handler (upstream's eviction_manager.go `Admit`): pure.

While the node is under pressure (the eviction manager's own conditions: a threshold met
within `evictionPressureTransitionPeriod`, `eviction/thresholds.py`), a new pod is refused
unless it is critical (a mirror pod, or `spec.priority` >= 2000000000, upstream's
IsCriticalPod: "required for system stability"):

- no pressure condition: nothing is refused;
- MemoryPressure only: BestEffort pods, unless they tolerate the
  `node.kubernetes.io/memory-pressure:NoSchedule` taint;
- any other (DiskPressure, PIDPressure, or MemoryPressure with another): every pod.

The refusal has upstream's reason `Evicted` and message "The node had condition:
[MemoryPressure]. " (Go's `%v` of the condition list: space-separated in brackets).
Upstream's list comes from a Go map, in no fixed order; here it is in the order the node's
status lists the conditions.
"""

from __future__ import annotations

from collections.abc import Collection

from nodelab.kube.objects import ObjectView
from nodelab.kube.pod.qos import BEST_EFFORT, pod_qos
from nodelab.kube.scheduling.predicates import tolerates
from nodelab.kubelet.eviction.critical import is_critical
from nodelab.kubelet.pods.admission.result import Rejection

REASON = "Evicted"
MEMORY_PRESSURE = "MemoryPressure"
CONDITION_ORDER = (MEMORY_PRESSURE, "DiskPressure", "PIDPressure")
MEMORY_PRESSURE_TAINT = {"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule"}


def _ordered(conditions: Collection[str]) -> list[str]:
    return sorted(conditions, key=lambda c: (CONDITION_ORDER.index(c)
                                             if c in CONDITION_ORDER else len(CONDITION_ORDER), c))


def admit_under_pressure(pod: ObjectView, conditions: Collection[str]) -> Rejection | None:
    """Why the node's pressure `conditions` refuse `pod`, or None."""
    if not conditions or is_critical(pod):
        return None
    if set(conditions) == {MEMORY_PRESSURE}:
        if pod_qos(pod) != BEST_EFFORT:
            return None
        if tolerates((pod.get("spec") or {}).get("tolerations") or [], MEMORY_PRESSURE_TAINT):
            return None
    return Rejection(REASON, f"The node had condition: [{' '.join(_ordered(conditions))}]. ")
