"""Node lifecycle: health from leases, the Ready condition and the not-ready/unreachable taints,
and the taint-based eviction of pods (the node lifecycle controller's plan).

- A node whose Lease was not renewed within the grace period (`node-monitor-grace-period`,
  50 s upstream; a lab setting) gets every condition set to `Unknown` with reason
  `NodeStatusUnknown` and message `Kubelet stopped posting node status.`.
- Ready `Unknown` -> taints `node.kubernetes.io/unreachable` with effects NoSchedule and
  NoExecute; Ready `False` -> `node.kubernetes.io/not-ready` likewise; Ready `True` -> neither.
- MemoryPressure, DiskPressure, PIDPressure or NetworkUnavailable `True` -> the NoSchedule taint
  `node.kubernetes.io/memory-pressure` (`disk-pressure`, `pid-pressure`,
  `network-unavailable`), removed once the condition is no longer True (upstream's
  TaintNodesByCondition, `nodeConditionToTaintKeyStatusMap` in node_lifecycle_controller.go;
  its `unschedulable` taint is not made here: the scheduler reads `spec.unschedulable`).
- A pod on a node with a NoExecute taint it does not tolerate is evicted at once; one it
  tolerates for `tolerationSeconds` is evicted that long after the taint was added (what the
  controller does to the pods: nodelifecycle_pods_plan.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from nodelab.controlplane.scheduler.filters import tolerates
from nodelab.kube.objects import ObjectView
from nodelab.kube.times import format_time as format_time
from nodelab.kube.times import parse_time as parse_time

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
PID_PRESSURE = "node.kubernetes.io/pid-pressure"
NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"
# condition type -> the NoSchedule taint it puts on the node while it is True
CONDITION_TAINTS = {"MemoryPressure": MEMORY_PRESSURE, "DiskPressure": DISK_PRESSURE,
                    "PIDPressure": PID_PRESSURE, "NetworkUnavailable": NETWORK_UNAVAILABLE}
GRACE_PERIOD = dt.timedelta(seconds=50)
CONDITION_TYPES = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


def last_heartbeat(node: ObjectView, lease: ObjectView | None) -> dt.datetime | None:
    times = []
    if lease:
        renewed = parse_time((lease.get("spec") or {}).get("renewTime"))
        if renewed:
            times.append(renewed)
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            heartbeat = parse_time(condition.get("lastHeartbeatTime"))
            if heartbeat:
                times.append(heartbeat)
    return max(times) if times else None


def ready_status(node: ObjectView) -> str:
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return str(condition.get("status") or "Unknown")
    return "Unknown"


def unknown_conditions_patch(node: ObjectView, lease: ObjectView | None, now: dt.datetime,
                             grace: dt.timedelta = GRACE_PERIOD) -> list[dict[str, Any]] | None:
    """The conditions to post when the kubelet went silent, or None while it is healthy."""
    heartbeat = last_heartbeat(node, lease)
    created = parse_time((node.get("metadata") or {}).get("creationTimestamp"))
    since = heartbeat or created
    if since is None or now - since <= grace:
        return None
    conditions = list((node.get("status") or {}).get("conditions") or [])
    if conditions and all(c.get("status") == "Unknown" for c in conditions
                          if c.get("type") in CONDITION_TYPES):
        return None
    stamp = format_time(now)
    by_type = {c.get("type"): dict(c) for c in conditions}
    for kind in CONDITION_TYPES:
        condition = by_type.get(kind) or {"type": kind,
                                          "lastHeartbeatTime": format_time(since)}
        if condition.get("status") != "Unknown":
            condition["lastTransitionTime"] = stamp
        condition.update(status="Unknown", reason="NodeStatusUnknown",
                         message="Kubelet stopped posting node status.")
        by_type[kind] = condition
    return list(by_type.values())


def desired_taints(node: ObjectView, now: dt.datetime) -> list[dict[str, Any]]:
    """The node's taints with the lifecycle ones made to match its conditions: Ready's
    (NoSchedule and NoExecute) and the pressure conditions' (NoSchedule)."""
    current = list((node.get("spec") or {}).get("taints") or [])
    ours = {NOT_READY, UNREACHABLE, *CONDITION_TAINTS.values()}
    kept = [t for t in current if t.get("key") not in ours]
    wanted = []
    key = {"False": NOT_READY, "Unknown": UNREACHABLE}.get(ready_status(node))
    if key is not None:
        for effect in ("NoSchedule", "NoExecute"):
            existing = next((t for t in current if t.get("key") == key and
                             t.get("effect") == effect), None)
            taint = existing or {"key": key, "effect": effect}
            if effect == "NoExecute" and "timeAdded" not in taint:
                taint = {**taint, "timeAdded": format_time(now)}
            wanted.append(taint)
    for condition in (node.get("status") or {}).get("conditions") or []:
        pressure = CONDITION_TAINTS.get(str(condition.get("type")))
        if pressure is not None and condition.get("status") == "True":
            wanted.append(next((t for t in current if t.get("key") == pressure
                                and t.get("effect") == "NoSchedule"),
                               {"key": pressure, "effect": "NoSchedule"}))
    return kept + wanted


def eviction_time(pod: ObjectView, taints: Sequence[ObjectView]) -> dt.datetime | None:
    """When a pod must leave its node because of NoExecute taints (None: it may stay)."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    deadline: dt.datetime | None = None
    for taint in taints:
        if taint.get("effect") != "NoExecute":
            continue
        added = parse_time(taint.get("timeAdded")) or dt.datetime.now(dt.timezone.utc)
        # the first toleration that matches is the one used (upstream's GetMatchingTolerations)
        used = next((t for t in tolerations if tolerates([t], taint)), None)
        if used is None:
            return added
        seconds = used.get("tolerationSeconds")
        if seconds is None:
            continue  # tolerated forever
        when = added + dt.timedelta(seconds=max(0, int(seconds)))
        deadline = when if deadline is None else min(deadline, when)
    return deadline
