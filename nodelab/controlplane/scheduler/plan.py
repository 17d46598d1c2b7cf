"""One scheduling decision as data: filter every node, score the ones left, pick the best.

`schedule` returns a `Decision`: the chosen node with every node's score, or no node and the
upstream-style message for the `FailedScheduling` event and the PodScheduled condition.
Ties between the best scores are broken at random, as upstream does.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nodelab.controlplane.scheduler.filters import FILTERS, NodeInfo
from nodelab.controlplane.scheduler.scoring import NORMALIZED_SCORERS, SCORERS, normalize
from nodelab.kube.objects import ObjectView


@dataclass(frozen=True)
class Decision:
    node: str | None
    message: str = ""
    scores: Mapping[str, int] = field(default_factory=dict)
    rejected: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # node -> reasons


def filter_node(pod: ObjectView, info: NodeInfo) -> tuple[str, ...]:
    for _name, plugin in FILTERS:
        reasons = plugin(pod, info)
        if reasons:
            return tuple(reasons)
    return ()


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
             rng: random.Random | None = None) -> Decision:
    rejected: dict[str, tuple[str, ...]] = {}
    feasible: list[NodeInfo] = []
    for info in nodes:
        reasons = filter_node(pod, info)
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
    best = max(scores.values())
    winners = sorted(name for name, score in scores.items() if score == best)
    chosen = (rng or random).choice(winners)
    return Decision(chosen, scores=scores, rejected=rejected)
