"""One scheduling decision as data: filter every node, score the ones left, pick the best.

A cycle starts with the PreFilter states of the plugins that look across nodes (`prefilter`:
PodTopologySpread's domain counts, InterPodAffinity's topology pairs), computed once from all
nodes; VolumeBinding's PreFilter may refuse the pod for every node at once
(`volume_binding.py`); each node then goes through the filters in upstream's order, the
per-node ones (`filters.FILTERS`) first, then VolumeBinding, PodTopologySpread and
InterPodAffinity. `schedule` returns
a `Decision`: the chosen node with every node's score, or no node and the upstream-style
message for the `FailedScheduling` event and the PodScheduled condition.
Ties between the best scores are broken at random, as upstream does.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nodelab.controlplane.scheduler import (
    interpod_affinity,
    interpod_affinity_score,
    topology_spread,
    topology_spread_score,
    volume_binding,
)
from nodelab.controlplane.scheduler.cluster import Cluster
from nodelab.controlplane.scheduler.filters import FILTERS, NodeInfo
from nodelab.controlplane.scheduler.scoring import NORMALIZED_SCORERS, SCORERS, normalize
from nodelab.kube.objects import ObjectView

# (name, plugin over the feasible nodes giving 0..100 each, weight): upstream's defaults
CLUSTER_SCORERS = (
    ("PodTopologySpread", topology_spread_score.score, 2),
    ("InterPodAffinity", interpod_affinity_score.score, 2),
)


@dataclass(frozen=True)
class Decision:
    node: str | None
    message: str = ""
    scores: Mapping[str, int] = field(default_factory=dict)
    rejected: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # node -> reasons


@dataclass(frozen=True)
class Cycle:
    """The PreFilter states of one pod's scheduling cycle."""

    cluster: Cluster
    spread: topology_spread.SpreadState
    affinity: interpod_affinity.AffinityState


def prefilter(pod: ObjectView, nodes: Sequence[NodeInfo], cluster: Cluster) -> Cycle:
    return Cycle(cluster, topology_spread.prefilter(pod, nodes, cluster),
                 interpod_affinity.prefilter(pod, nodes, cluster))


def filter_node(pod: ObjectView, info: NodeInfo, cycle: Cycle) -> tuple[str, ...]:
    """The reasons of the first filter that rejects `info` (empty: the pod fits there)."""
    for _name, plugin in FILTERS:
        reasons = plugin(pod, info)
        if reasons:
            return tuple(reasons)
    reasons = (volume_binding.filter_node(pod, info.node, cycle.cluster.volumes)
               or topology_spread.filter_node(cycle.spread, info)
               or interpod_affinity.filter_node(cycle.affinity, info, cycle.cluster))
    return tuple(reasons)


def fits_with(pod: ObjectView, nodes: Sequence[NodeInfo], node: NodeInfo,
              cluster: Cluster) -> bool:
    """Whether `pod` fits on `node` when that node holds exactly `node.pods` (the rest of the
    cluster as in `nodes`): preemption's question, with the cross-node states recomputed."""
    trial = [node if n.name == node.name else n for n in nodes]
    return not filter_node(pod, node, prefilter(pod, trial, cluster))


def unschedulable_message(total: int, rejected: Mapping[str, Sequence[str]]) -> str:
    """Upstream's FitError text: `0/N nodes are available: <count reason>, ... .`"""
    if total == 0:
        return "no nodes available to schedule pods"
    counts: Counter[str] = Counter()
    for reasons in rejected.values():
        counts.update(set(reasons))
    parts = sorted(f"{count} {reason}" for reason, count in counts.items())
    return f"0/{total} nodes are available: {', '.join(parts)}."


def schedule(pod: ObjectView, nodes: Sequence[NodeInfo],
             rng: random.Random | None = None, cluster: Cluster | None = None) -> Decision:
    cluster = cluster or Cluster()
    refused = volume_binding.prefilter(pod, cluster.volumes) if nodes else ""
    if refused:  # UnschedulableAndUnresolvable on every node
        return Decision(None, f"0/{len(nodes)} nodes are available: {refused}.",
                        rejected={info.name: (refused,) for info in nodes})
    cycle = prefilter(pod, nodes, cluster)
    rejected: dict[str, tuple[str, ...]] = {}
    feasible: list[NodeInfo] = []
    for info in nodes:
        reasons = filter_node(pod, info, cycle)
        if reasons:
            rejected[info.name] = reasons
        else:
            feasible.append(info)
    if not feasible:
        return Decision(None, unschedulable_message(len(nodes), rejected), rejected=rejected)
    scores = {info.name: sum(weight * scorer(pod, info) for _n, scorer, weight in SCORERS)
              for info in feasible}
    for _name, scorer, weight in NORMALIZED_SCORERS:
        for name, score in normalize({i.name: scorer(pod, i) for i in feasible}).items():
            scores[name] += weight * score
    for _name, plugin, weight in CLUSTER_SCORERS:
        for name, score in plugin(pod, feasible, nodes, cluster).items():
            scores[name] += weight * score
    best = max(scores.values())
    winners = sorted(name for name, score in scores.items() if score == best)
    chosen = (rng or random).choice(winners)
    return Decision(chosen, scores=scores, rejected=rejected)
