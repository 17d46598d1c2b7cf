"""Score plugins: NodeResourcesFit's LeastAllocated strategy, NodeResourcesBalancedAllocation
and NodeAffinity's preferred terms, with upstream's default plugin weights.

The first two look at CPU and memory, counting the pod being placed, with upstream's non-zero
defaults for containers without requests; each gives 0..100 (weight 1).
- least allocated: mean over resources of (allocatable - requested) * 100 / allocatable;
- balanced allocation: (1 - standard deviation of the requested fractions) * 100.

NodeAffinity (weight 2) sums the weights of the pod's
`preferredDuringSchedulingIgnoredDuringExecution` terms a node matches, then normalizes over
the feasible nodes (upstream's DefaultNormalizeScore: `100 * score / highest`, all 0 when no
node matches any term).
"""

from __future__ import annotations

import math

from nodelab.controlplane.scheduler.filters import NodeInfo
from nodelab.kube.objects import ObjectView
from nodelab.kube.scheduling.predicates import term_matches
from nodelab.kube.scheduling.resources import node_allocatable, pod_requests, requested_on

MAX_SCORE = 100


def _fractions(pod: ObjectView, info: NodeInfo) -> list[tuple[int, int]]:
    allocatable, _ = node_allocatable(info.node)
    used = requested_on(info.pods, non_zero=True)
    used.add(pod_requests(pod, non_zero=True))
    return [(used.milli_cpu, allocatable.milli_cpu), (used.memory, allocatable.memory)]


def least_allocated(pod: ObjectView, info: NodeInfo) -> int:
    scores = []
    for requested, capacity in _fractions(pod, info):
        if capacity <= 0 or requested > capacity:
            scores.append(0)
        else:
            scores.append((capacity - requested) * MAX_SCORE // capacity)
    return sum(scores) // len(scores)


def balanced_allocation(pod: ObjectView, info: NodeInfo) -> int:
    fractions = [min(r / c, 1.0) if c > 0 else 1.0 for r, c in _fractions(pod, info)]
    mean = sum(fractions) / len(fractions)
    std = math.sqrt(sum((f - mean) ** 2 for f in fractions) / len(fractions))
    return int((1 - std) * MAX_SCORE)


def node_affinity(pod: ObjectView, info: NodeInfo) -> int:
    """The sum of the weights of the preferred node affinity terms `info` matches (raw)."""
    preferred = (((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}).get(
        "preferredDuringSchedulingIgnoredDuringExecution") or []
    labels = (info.node.get("metadata") or {}).get("labels") or {}
    return sum(int(term.get("weight") or 0) for term in preferred
               if term_matches(term.get("preference") or {}, labels, info.name))


def normalize(raw: dict[str, int]) -> dict[str, int]:
    """Upstream's DefaultNormalizeScore (not reversed): scale to 0..100 by the highest."""
    highest = max(raw.values(), default=0)
    return {name: MAX_SCORE * score // highest if highest else 0 for name, score in raw.items()}


# (name, plugin, weight); the normalized ones are scaled over all feasible nodes first
SCORERS = (
    ("NodeResourcesFit", least_allocated, 1),
    ("NodeResourcesBalancedAllocation", balanced_allocation, 1),
)
NORMALIZED_SCORERS = (
    ("NodeAffinity", node_affinity, 2),
)
