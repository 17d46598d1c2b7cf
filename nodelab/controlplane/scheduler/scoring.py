"""Score plugins: NodeResourcesFit's LeastAllocated strategy and NodeResourcesBalancedAllocation.

Both look at CPU and memory with weight 1, counting the pod being placed, with upstream's
non-zero defaults for containers without requests; each gives 0..100.
- least allocated: mean over resources of (allocatable - requested) * 100 / allocatable;
- balanced allocation: (1 - standard deviation of the requested fractions) * 100.
"""

from __future__ import annotations

import math

from nodelab.controlplane.scheduler.filters import NodeInfo
from nodelab.controlplane.scheduler.resources import node_allocatable, pod_requests, requested_on
from nodelab.kube.objects import ObjectView

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


SCORERS = (
    ("NodeResourcesFit", least_allocated),
    ("NodeResourcesBalancedAllocation", balanced_allocation),
)
