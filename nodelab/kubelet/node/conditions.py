"""Node conditions, computed the way upstream's `nodestatus` setters compute them.

Four conditions, each with the upstream reasons and messages:

- Ready: True `KubeletReady` "kubelet is posting ready status"; False `KubeletNotReady`
  with the runtime's errors joined by ", ".
- MemoryPressure: True `KubeletHasInsufficientMemory` "kubelet has insufficient memory
  available"; False `KubeletHasSufficientMemory` "kubelet has sufficient memory available".
- DiskPressure: True `KubeletHasDiskPressure` "kubelet has disk pressure"; False
  `KubeletHasNoDiskPressure` "kubelet has no disk pressure".
- PIDPressure: True `KubeletHasInsufficientPID` "kubelet has insufficient PID available";
  False `KubeletHasSufficientPID` "kubelet has sufficient PID available".

Rules (as upstream): every computation sets `lastHeartbeatTime` to now; `lastTransitionTime`
changes only when the status changes; a new condition starts from Unknown, so the first
computation is a transition. Each transition yields a node event: NodeReady / NodeNotReady,
NodeHasSufficientMemory / NodeHasInsufficientMemory, NodeHasNoDiskPressure /
NodeHasDiskPressure, NodeHasSufficientPID / NodeHasInsufficientPID.

Ready is False when the CRI runtime's `Status` says RuntimeReady or NetworkReady is not true
(`runtime_errors` turns that into upstream's messages) or when the runtime cannot be reached.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from nodelab.kubelet.cri import RuntimeCondition

# type: (True reason, True message, True event), (False reason, False message, False event)
_PRESSURE = {
    "MemoryPressure": (
        ("KubeletHasInsufficientMemory", "kubelet has insufficient memory available",
         "NodeHasInsufficientMemory"),
        ("KubeletHasSufficientMemory", "kubelet has sufficient memory available",
         "NodeHasSufficientMemory"),
    ),
    "DiskPressure": (
        ("KubeletHasDiskPressure", "kubelet has disk pressure", "NodeHasDiskPressure"),
        ("KubeletHasNoDiskPressure", "kubelet has no disk pressure", "NodeHasNoDiskPressure"),
    ),
    "PIDPressure": (
        ("KubeletHasInsufficientPID", "kubelet has insufficient PID available",
         "NodeHasInsufficientPID"),
        ("KubeletHasSufficientPID", "kubelet has sufficient PID available",
         "NodeHasSufficientPID"),
    ),
}
CONDITION_ORDER = ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")


def runtime_errors(conditions: Sequence[RuntimeCondition] | None) -> list[str]:
    """Upstream's Ready errors for a CRI status (None: the runtime could not be reached)."""
    if conditions is None:
        return ["container runtime is down"]
    by_type = {c.type: c for c in conditions}
    errors = []
    runtime = by_type.get("RuntimeReady")
    if runtime is None or not runtime.status:
        shown = runtime or RuntimeCondition("RuntimeReady", False)
        errors.append(f"container runtime not ready: {shown}")
    network = by_type.get("NetworkReady")
    if network is None or not network.status:
        shown = network or RuntimeCondition("NetworkReady", False)
        errors.append(f"container runtime network not ready: {shown}")
    return errors


def _wanted(kind: str, pressure: set[str], errors: list[str]) -> tuple[str, str, str, str]:
    """(status, reason, message, event on transition) for condition `kind`."""
    if kind == "Ready":
        if errors:
            return "False", "KubeletNotReady", ", ".join(errors), "NodeNotReady"
        return "True", "KubeletReady", "kubelet is posting ready status", "NodeReady"
    true_side, false_side = _PRESSURE[kind]
    if kind in pressure:
        return ("True", *true_side)
    return ("False", *false_side)


def compute_conditions(
    previous: Sequence[dict[str, Any]],
    pressure: set[str],
    errors: list[str],
    now: str,
) -> tuple[list[dict[str, Any]], list[str]]:
    """The kubelet's four conditions (in upstream order) and the node events their transitions
    raise. Conditions of other writers (node-problem-detector's KernelDeadlock...) are not the
    kubelet's: they are left out, so its status patch, which the API server merges by condition
    type, never writes back a stale copy of them (upstream's setters touch only their own)."""
    old = {c["type"]: c for c in previous}
    result: list[dict[str, Any]] = []
    events: list[str] = []
    for kind in CONDITION_ORDER:
        cond = copy.deepcopy(old.get(kind)) or {"type": kind, "status": "Unknown"}
        status, reason, message, event = _wanted(kind, pressure, errors)
        cond["lastHeartbeatTime"] = now
        if cond.get("status") != status:
            cond["lastTransitionTime"] = now
            events.append(event)
        cond.update(status=status, reason=reason, message=message)
        result.append(cond)
    return result, events
