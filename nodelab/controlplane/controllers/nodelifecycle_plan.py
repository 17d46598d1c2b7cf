"""Node lifecycle: health from leases, the Ready condition and the not-ready/unreachable taints,
and the taint-based eviction of pods (the node lifecycle controller's plan).

- A node whose Lease was not renewed within the grace period (`node-monitor-grace-period`,
  50 s upstream; a lab setting) gets every condition set to `Unknown` with reason
  `NodeStatusUnknown` and message `Kubelet stopped posting node status.`.
- Ready `Unknown` -> taints `node.kubernetes.io/unreachable` with effects NoSchedule and
  NoExecute; Ready `False` -> `node.kubernetes.io/not-ready` likewise; Ready `True` -> neither.
- MemoryPressure, DiskPressure, PIDPressure or NetworkUnavailable `True` -> the NoSchedule taint
  `node.kubernetes.io/memory-pressure` (`disk-pressure`, `pid-pressure`,
  `network-unavailable`), removed once the condition is no longer True, and
  `spec.unschedulable` (a cordon) -> `node.kubernetes.io/unschedulable` (upstream's
  TaintNodesByCondition, `nodeConditionToTaintKeyStatusMap` and doNoScheduleTaintingPass in
  node_lifecycle_controller.go). Taints the controller adds carry `timeAdded`.
- NoExecute taints follow the zone's disruption state: none at all while every node of the
  cluster is not Ready (upstream's "master disruption mode": a one-node lab whose kubelet
  stopped keeps its pods), none added in a partially disrupted zone.
- A pod on a node with a NoExecute taint it does not tolerate is evicted at once; one it
  tolerates for `tolerationSeconds` is evicted that long after the taint was added (what the
  controller does to the pods: nodelifecycle_pods_plan.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from nodelab.kube.objects import ObjectView
from nodelab.kube.scheduling.predicates import tolerates
from nodelab.kubewire.times import format_time as format_time
from nodelab.kubewire.times import parse_time as parse_time

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


# upstream's nodeConditionToTaintKeyStatusMap: the NoSchedule taint each condition brings
CONDITION_TAINT_KEYS = {
    ("Ready", "False"): NOT_READY,
    ("Ready", "Unknown"): UNREACHABLE,
    **{(kind, "True"): key for kind, key in CONDITION_TAINTS.items()},
}
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
NORMAL, PARTIAL_DISRUPTION, FULL_DISRUPTION = "Normal", "PartialDisruption", "FullDisruption"
UNHEALTHY_ZONE_THRESHOLD = 0.55  # --unhealthy-zone-threshold
ZONE_LABELS = (("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region"),
               ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"))


def zone_key(node: ObjectView) -> str:
    """The node's zone as upstream's GetZoneKey writes it ("" without topology labels)."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    region, zone = (labels.get(new) or labels.get(old) or "" for new, old in ZONE_LABELS)
    return f"{region}:\x00:{zone}" if region or zone else ""


def zone_states(nodes: Sequence[ObjectView]) -> dict[str, str]:
    """Each zone's state, as upstream's ComputeZoneState: FullDisruption when no node of the
    zone is Ready, PartialDisruption when more than 2 and at least 55 % are not, else Normal."""
    counts: dict[str, tuple[int, int]] = {}
    for node in nodes:
        ready, not_ready = counts.get(zone_key(node), (0, 0))
        up = ready_status(node) == "True"
        counts[zone_key(node)] = (ready + up, not_ready + (not up))
    states = {}
    for zone, (ready, not_ready) in counts.items():
        if ready == 0 and not_ready > 0:
            states[zone] = FULL_DISRUPTION
        elif not_ready > 2 and not_ready / (ready + not_ready) >= UNHEALTHY_ZONE_THRESHOLD:
            states[zone] = PARTIAL_DISRUPTION
        else:
            states[zone] = NORMAL
    return states


def no_execute_mode(zone_state: str, all_fully_disrupted: bool) -> str:
    """What the NoExecute tainting of a node does in its zone (upstream's handleDisruption and
    the eviction limiter, for clusters under --large-cluster-size-threshold, 50 nodes):
    "apply" (Normal), "hold" (PartialDisruption: the limiter is 0, no new NoExecute taint, the
    ones there stay), "remove" (every zone fully disrupted: the controller assumes the fault is
    its own, removes the NoExecute taints and evicts nothing). A fully disrupted zone while
    another is not evicts at the normal rate."""
    if all_fully_disrupted:
        return "remove"
    return "hold" if zone_state == PARTIAL_DISRUPTION else "apply"


def desired_taints(node: ObjectView, now: dt.datetime,
                   no_execute: str = "apply") -> list[dict[str, Any]]:
    """The node's taints with the controller's made to match its conditions: NoSchedule ones
    from the conditions and `spec.unschedulable` (upstream's doNoScheduleTaintingPass), the
    not-ready/unreachable NoExecute one from Ready (doNoExecuteTaintingPass) as `no_execute`
    allows. Added taints get `timeAdded`, as SwapNodeControllerTaint does."""
    spec = node.get("spec") or {}
    current = list(spec.get("taints") or [])
    no_schedule = [key for (kind, status), key in CONDITION_TAINT_KEYS.items()
                   for c in (node.get("status") or {}).get("conditions") or []
                   if c.get("type") == kind and c.get("status") == status]
    if spec.get("unschedulable"):
        no_schedule.append(UNSCHEDULABLE)
    managed_no_schedule = set(CONDITION_TAINT_KEYS.values()) | {UNSCHEDULABLE}
    # no Ready condition (no kubelet has posted one yet): no NoExecute taint, as upstream, which
    # taints only a node whose Ready condition it has (after the grace period it posts Unknown)
    has_ready = any(c.get("type") == "Ready"
                    for c in (node.get("status") or {}).get("conditions") or [])
    key = {"False": NOT_READY, "Unknown": UNREACHABLE}.get(ready_status(node)) if has_ready \
        else None
    has = {(t.get("key"), t.get("effect")) for t in current}
    if no_execute == "remove" or key is None:
        no_exec: list[str] = []
    elif no_execute == "hold" and not has & {(NOT_READY, "NoExecute"), (UNREACHABLE, "NoExecute")}:
        no_exec = []  # nothing new while the limiter is 0; a swap of the two is not held
    else:
        no_exec = [key]
    wanted = {(k, "NoSchedule") for k in no_schedule} | {(k, "NoExecute") for k in no_exec}

    def ours(taint: ObjectView) -> bool:
        effect = taint.get("effect")
        return ((effect == "NoSchedule" and taint.get("key") in managed_no_schedule)
                or (effect == "NoExecute" and taint.get("key") in (NOT_READY, UNREACHABLE)))

    kept = [t for t in current if not ours(t) or (t.get("key"), t.get("effect")) in wanted]
    added = [{"key": k, "effect": e, "timeAdded": format_time(now)}
             for k, e in sorted(wanted - has, key=lambda pair: (pair[1] != "NoSchedule", pair))]
    return kept + added


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
