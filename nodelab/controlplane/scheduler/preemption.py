"""Preemption as data (upstream's DefaultPreemption PostFilter plugin).

When a pod fits nowhere, `preempt` looks for a node where removing lower-priority pods would
let it fit:

- only nodes the filters rejected for what pods hold (resources, host ports, the pod count,
  pod anti-affinity either way, topology spread skew) are candidates; a taint, a node or pod
  affinity, `nodeName` or a cordon cannot be preempted away;
- on each, every pod of lower priority is removed and every filter runs again (the
  cross-node ones recounted without them); if the pod still does not fit, the node is
  no candidate; otherwise the removed pods are put back one by one, each kept if the pod
  still fits: the rest are the victims (upstream's selectVictimsOnNode). They are put back
  most important first (higher priority, then the one started earlier), those whose loss
  would violate a PodDisruptionBudget before all others (`budget_violations`, upstream's
  filterPodsWithPDBViolation: going down the list, each pod a budget selects uses one of its
  `disruptionsAllowed`, unless the eviction API already counted it in `disruptedPods`; a pod
  is violating once a budget of its runs out; a budget without a selector or with `{}`
  selects nothing here), so a victim that would break a budget is taken only when nothing
  else makes room;
- the chosen node has the fewest budget-violating victims, then the lowest highest-victim
  priority, then the lowest sum of victim priorities, then the fewest victims, then the
  latest start of its most important victims (upstream's pickOneNodeForPreemption).
  Preemption deletes its victims even when that breaks a budget, as upstream: budgets are
  preferences here, not limits.

A pod with `preemptionPolicy: Never` preempts nothing, and one already nominated to a node
where lower-priority pods are still terminating waits for them (podEligibleToPreemptOthers).
The loop then deletes the victims (each with a `DisruptionTarget` condition, reason
`PreemptionByScheduler`, and a `Preempted` event), sets the pod's
`status.nominatedNodeName` and clears the nomination of lower-priority pods nominated to the
same node; the pod is bound once the space is free. Meanwhile every pod of lower or equal
priority is filtered as if the nominated pods of at least its priority already ran on their
nodes (`nominated_pods`), so nobody takes the room that was made.
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
from nodelab.controlplane.scheduler.plan import (
    filter_node,
    fits_with,
    prefilter,
    unschedulable_message,
)
from nodelab.controlplane.scheduler.topology_spread import ERR_CONSTRAINTS
from nodelab.kube.label_selectors import selector_is_empty, selector_matches
from nodelab.kube.objects import ObjectView

# reasons upstream's filters give as Unschedulable (not UnschedulableAndUnresolvable)
RESOLVABLE = (ERR_PORTS, ERR_TOO_MANY_PODS, ERR_ANTI_AFFINITY_RULES, ERR_EXISTING_ANTI_AFFINITY,
              ERR_CONSTRAINTS)


NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"


@dataclass(frozen=True)
class Preemption:
    node: str
    victims: tuple[ObjectView, ...]
    violations: int = 0  # victims whose loss breaks a PodDisruptionBudget


@dataclass(frozen=True)
class Attempt:
    preemption: Preemption | None
    message: str = ""  # upstream's PostFilter message when nothing can be preempted


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
    found, _reasons = _select_victims(pod, info, nodes or [info], cluster or Cluster())
    return None if found is None else found.victims


def budget_violations(pods: Sequence[ObjectView], budgets: Sequence[ObjectView]
                      ) -> tuple[list[ObjectView], list[ObjectView]]:
    """Upstream's filterPodsWithPDBViolation: (violating, not violating), each in the order
    given."""
    allowed = [int((b.get("status") or {}).get("disruptionsAllowed") or 0) for b in budgets]
    violating: list[ObjectView] = []
    fine: list[ObjectView] = []
    for pod in pods:
        meta = pod["metadata"]
        labels, broken = meta.get("labels") or {}, False
        for i, budget in enumerate(budgets if labels else ()):
            selector = (budget.get("spec") or {}).get("selector")
            if budget["metadata"].get("namespace") != meta.get("namespace") \
                    or selector is None or selector_is_empty(selector) \
                    or not selector_matches(selector, labels):
                continue
            if meta.get("name") in ((budget.get("status") or {}).get("disruptedPods") or {}):
                continue  # the eviction API counted it already
            allowed[i] -= 1
            broken = broken or allowed[i] < 0
        (violating if broken else fine).append(pod)
    return violating, fine


def _select_victims(pod: ObjectView, info: NodeInfo, nodes: Sequence[NodeInfo],
                    cluster: Cluster) -> tuple[Preemption | None, tuple[str, ...]]:
    """Upstream's SelectVictimsOnNode: the victims and how many break a budget, or why there
    are none (its status)."""
    mine = priority(pod)
    lower = [p for p in info.pods if priority(p) < mine and not _terminating(p)]
    kept = [p for p in info.pods if p not in lower]
    if not lower:
        return None, (NO_VICTIMS,)
    without = NodeInfo(info.node, kept)
    reasons = filter_node(pod, without, prefilter(pod, _replace(nodes, without), cluster))
    if reasons:
        return None, reasons
    violating, fine = budget_violations(sorted(lower, key=lambda p: (-priority(p), _start(p))),
                                        cluster.disruption_budgets)
    victims, violations = [], 0
    for candidate in [*violating, *fine]:
        if not fits_with(pod, nodes, NodeInfo(info.node, [*kept, candidate]), cluster):
            victims.append(candidate)
            violations += candidate in violating
        else:
            kept.append(candidate)
    return Preemption(info.name, tuple(victims), violations), ()


def _replace(nodes: Sequence[NodeInfo], node: NodeInfo) -> list[NodeInfo]:
    return [node if n.name == node.name else n for n in nodes]


def _cost(found: Preemption) -> tuple[int, int, int, int]:
    """Lower is better: budget violations, highest victim priority, sum of priorities, number
    of victims."""
    victims = found.victims
    return (found.violations, max(priority(v) for v in victims),
            sum(priority(v) for v in victims), len(victims))


def _earliest_top_start(victims: Sequence[ObjectView]) -> str:
    top = max(priority(v) for v in victims)
    return min(_start(v) for v in victims if priority(v) == top)


def pick(found: Sequence[Preemption]) -> Preemption:
    """Upstream's pickOneNodeForPreemption over the candidates (see the module docstring)."""
    best = min(_cost(f) for f in found)
    tied = [f for f in found if _cost(f) == best]
    latest = max(_earliest_top_start(f.victims) for f in tied)
    return min((f for f in tied if _earliest_top_start(f.victims) == latest),
               key=lambda f: f.node)


def nominated(pod: ObjectView) -> str:
    return str((pod.get("status") or {}).get("nominatedNodeName") or "")


def nominated_pods(pod: ObjectView, node: str,
                   pending: Sequence[ObjectView]) -> list[ObjectView]:
    """The pending pods nominated to `node` that `pod` must leave room for: those of at least
    its priority (upstream's addNominatedPods, run before the filters), so a pod cannot take
    the space a preemption freed for a more important one."""
    uid = pod["metadata"].get("uid")
    return [p for p in pending if nominated(p) == node and p["metadata"].get("uid") != uid
            and priority(p) >= priority(pod)]


def nominations_to_clear(pod: ObjectView, node: str,
                         pending: Sequence[ObjectView]) -> list[ObjectView]:
    """The pods nominated to `node` with a lower priority than a pod that preempts there:
    their nomination is cleared (upstream's getLowerPriorityNominatedPods), so they are
    scheduled again from scratch."""
    uid = pod["metadata"].get("uid")
    return [p for p in pending if nominated(p) == node and p["metadata"].get("uid") != uid
            and priority(p) < priority(pod)]


def preempt(pod: ObjectView, nodes: Sequence[NodeInfo],
            rejected: dict[str, tuple[str, ...]],
            cluster: Cluster | None = None) -> Preemption | None:
    """Where `pod` could run by preempting lower-priority pods, and whom (None: nowhere)."""
    return attempt(pod, nodes, rejected, cluster).preemption


def attempt(pod: ObjectView, nodes: Sequence[NodeInfo], rejected: dict[str, tuple[str, ...]],
            cluster: Cluster | None = None) -> Attempt:
    """Upstream's DefaultPreemption PostFilter: a preemption, or its message for the
    FailedScheduling text (`preemption: 0/2 nodes are available: 2 No preemption victims
    found for incoming pod.`; unresolvable nodes count as `Preemption is not helpful for
    scheduling`)."""
    cluster = cluster or Cluster()
    if not nodes:
        return Attempt(None)  # upstream's ErrNoNodesAvailable: no PostFilter runs
    if (pod.get("spec") or {}).get("preemptionPolicy") == "Never":
        return Attempt(None, "preemption: not eligible due to preemptionPolicy=Never.")
    nominated = (pod.get("status") or {}).get("nominatedNodeName")
    for info in nodes:
        if info.name == nominated and any(_terminating(p) and priority(p) < priority(pod)
                                          for p in info.pods):
            return Attempt(None, "preemption: not eligible due to a terminating pod on the "
                                 "nominated node.")
    found: list[Preemption] = []
    why: dict[str, tuple[str, ...]] = {}
    for info in nodes:
        if not resolvable(rejected.get(info.name, ())):
            why[info.name] = (NOT_HELPFUL,)
            continue
        candidate, reasons = _select_victims(pod, info, nodes, cluster)
        if candidate is not None and candidate.victims:
            found.append(candidate)
        else:
            why[info.name] = reasons
    if found:
        return Attempt(pick(found))
    return Attempt(None, "preemption: " + unschedulable_message(len(nodes), why))
