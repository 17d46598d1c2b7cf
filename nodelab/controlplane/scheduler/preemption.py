"""Preemption as data (upstream's DefaultPreemption PostFilter plugin, without
PodDisruptionBudgets: nodelab serves none).

When a pod fits nowhere, `preempt` looks for a node where removing lower-priority pods would
let it fit:

- only nodes the filters rejected for what pods hold (resources, host ports, the pod count,
  pod anti-affinity either way, topology spread skew) are candidates; a taint, a node or pod
  affinity, `nodeName` or a cordon cannot be preempted away;
- on each, every pod of lower priority is removed and every filter runs again (the
  cross-node ones recounted without them); if the pod still does not fit, the node is
  no candidate; otherwise the removed pods are put back one by one, most important first
  (higher priority, then the one started earlier), each kept if the pod still fits: the rest
  are the victims (upstream's selectVictimsOnNode);
- the chosen node has the lowest highest-victim priority, then the lowest sum of victim
  priorities, then the fewest victims, then the latest start of its most important victims
  (upstream's pickOneNodeForPreemption; its first criterion, PDB violations, is always 0 here).

A pod with `preemptionPolicy: Never` preempts nothing, and one already nominated to a node
where lower-priority pods are still terminating waits for them (podEligibleToPreemptOthers).
The loop then deletes the victims (each with a `DisruptionTarget` condition, reason
`PreemptionByScheduler`, and a `Preempted` event) and sets the pod's
`status.nominatedNodeName`; the pod is bound once the space is free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nodelab.controlplane.scheduler.cluster import Cluster
from nodelab.controlplane.scheduler.filters import (
    ERR_PORTS,
    ERR_TOO_MANY_PODS,
    NodeInfo,
)
from nodelab.controlplane.scheduler.interpod_affinity import (
    ERR_ANTI_AFFINITY_RULES,
    ERR_EXISTING_ANTI_AFFINITY,
)
from nodelab.controlplane.scheduler.plan import fits_with
from nodelab.controlplane.scheduler.topology_spread import ERR_CONSTRAINTS
from nodelab.kube.objects import ObjectView

# reasons upstream's filters give as Unschedulable (not UnschedulableAndUnresolvable)
RESOLVABLE = (ERR_PORTS, ERR_TOO_MANY_PODS, ERR_ANTI_AFFINITY_RULES, ERR_EXISTING_ANTI_AFFINITY,
              ERR_CONSTRAINTS)


@dataclass(frozen=True)
class Preemption:
    node: str
    victims: tuple[ObjectView, ...]


def priority(pod: ObjectView) -> int:
    return int((pod.get("spec") or {}).get("priority") or 0)


def _start(pod: ObjectView) -> str:
    return str((pod.get("status") or {}).get("startTime")
               or pod["metadata"].get("creationTimestamp") or "")


def resolvable(reasons: Sequence[str]) -> bool:
    """Whether removing pods could clear these filter reasons (Unschedulable, not
    UnschedulableAndUnresolvable, in upstream's terms)."""
    return bool(reasons) and all(r.startswith("Insufficient ") or r in RESOLVABLE
                                 for r in reasons)


def _terminating(pod: ObjectView) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def victims_on(pod: ObjectView, info: NodeInfo, nodes: Sequence[NodeInfo] = (),
               cluster: Cluster | None = None) -> tuple[ObjectView, ...] | None:
    """The fewest lower-priority pods to remove from `info` for `pod` to fit (None: none do).
    Every filter runs again with the pods removed, the cross-node ones over all `nodes`."""
    cluster = cluster or Cluster()
    nodes = nodes or [info]
    mine = priority(pod)
    lower = [p for p in info.pods if priority(p) < mine and not _terminating(p)]
    kept = [p for p in info.pods if p not in lower]
    if not lower or not fits_with(pod, nodes, NodeInfo(info.node, kept), cluster):
        return None
    victims = []
    for candidate in sorted(lower, key=lambda p: (-priority(p), _start(p))):
        if not fits_with(pod, nodes, NodeInfo(info.node, [*kept, candidate]), cluster):
            victims.append(candidate)
        else:
            kept.append(candidate)
    return tuple(victims)


def _cost(victims: Sequence[ObjectView]) -> tuple[int, int, int]:
    """Lower is better: highest victim priority, sum of priorities, number of victims."""
    return (max(priority(v) for v in victims), sum(priority(v) for v in victims), len(victims))


def _earliest_top_start(victims: Sequence[ObjectView]) -> str:
    top = max(priority(v) for v in victims)
    return min(_start(v) for v in victims if priority(v) == top)


def pick(found: Sequence[Preemption]) -> Preemption:
    """Upstream's pickOneNodeForPreemption over the candidates (see the module docstring)."""
    best = min(_cost(f.victims) for f in found)
    tied = [f for f in found if _cost(f.victims) == best]
    latest = max(_earliest_top_start(f.victims) for f in tied)
    return min((f for f in tied if _earliest_top_start(f.victims) == latest),
               key=lambda f: f.node)


def preempt(pod: ObjectView, nodes: Sequence[NodeInfo],
            rejected: dict[str, tuple[str, ...]],
            cluster: Cluster | None = None) -> Preemption | None:
    """Where `pod` could run by preempting lower-priority pods, and whom (None: nowhere)."""
    spec = pod.get("spec") or {}
    if spec.get("preemptionPolicy") == "Never":
        return None
    nominated = (pod.get("status") or {}).get("nominatedNodeName")
    for info in nodes:
        if info.name == nominated and any(_terminating(p) and priority(p) < priority(pod)
                                          for p in info.pods):
            return None  # its earlier victims are still going
    found: list[Preemption] = []
    for info in nodes:
        if not resolvable(rejected.get(info.name, ())):
            continue
        victims = victims_on(pod, info, nodes, cluster)
        if victims:
            found.append(Preemption(info.name, victims))
    return pick(found) if found else None
