"""The burst's floor: the shortest create -> Ready p99 a machine's cores allow, given the CPU
each pod costs.

A burst posts n pods within a span of `post_span_s` seconds. If each pod needs `c` ms of CPU
after its POST (its runtime, kubelet, pod network, API server...) and the machine's `cores`
do nothing else, the k-th pod to be Ready cannot be Ready before `k x c / cores` after the
first POST; as every pod was posted within the span, at least n - k + 1 pods take
`k x c / cores - span` or longer. So the burst's p99 (nearest rank q) is at least
`q x c / cores - span`, whatever the order of the work.
"""

from __future__ import annotations

from benchmarks.percentiles import nearest_rank


def p99_floor_s(pods: int, cpu_ms_per_pod: float, cores: int, post_span_s: float = 0.0) -> float:
    """The shortest create -> Ready the pod at the 99th percentile (nearest rank) of `pods`
    posted within `post_span_s` can have, if each costs `cpu_ms_per_pod` of CPU and the
    machine's `cores` do nothing else."""
    if pods <= 0 or cores <= 0:
        return 0.0
    rank = nearest_rank(list(range(1, pods + 1)), 0.99)
    return max(0.0, rank * cpu_ms_per_pod / 1000.0 / cores - post_span_s)
