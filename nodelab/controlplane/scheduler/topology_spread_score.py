"""PodTopologySpread's Score for `whenUnsatisfiable: ScheduleAnyway` constraints (and the
system defaults), as upstream's podtopologyspread/scoring.go.

Domains are counted over every node that has the constraints' keys and passes the inclusion
policies, but only domains of feasible nodes are scored. A node's raw score is, over the
constraints whose key it has, `matching pods in its domain * log(domains + 2) + maxSkew - 1`
(for `kubernetes.io/hostname` the pods on the node itself, and the domains are the feasible
nodes), rounded. Fewer pods is better: scores become `100 * (max + min - raw) / max`, all 100
when every raw score is 0. With the pod's own constraints a feasible node missing a key scores
0; with the system defaults, nodes without a zone label still spread by hostname.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nodelab.controlplane.scheduler.cluster import Cluster
from nodelab.controlplane.scheduler.filters import NodeInfo
from nodelab.controlplane.scheduler.topology_spread import (
    HOSTNAME,
    count_matching,
    has_keys,
    pod_constraints,
)
from nodelab.kube.objects import ObjectView

MAX_SCORE = 100


def _labels(info: NodeInfo) -> dict[str, str]:
    return dict((info.node.get("metadata") or {}).get("labels") or {})


def score(pod: ObjectView, feasible: Sequence[NodeInfo], nodes: Sequence[NodeInfo],
          cluster: Cluster) -> dict[str, int]:
    """Normalized 0..100 scores of the feasible nodes (PreScore, Score, NormalizeScore)."""
    constraints = pod_constraints(pod, cluster, "ScheduleAnyway")
    if not constraints:
        return {info.name: 0 for info in feasible}
    require_all = bool((pod.get("spec") or {}).get("topologySpreadConstraints"))
    ignored = {i.name for i in feasible if require_all and not has_keys(i, constraints)}
    counts: list[dict[str, int]] = [{} for _ in constraints]
    for info in feasible:
        if info.name in ignored:
            continue
        for i, c in enumerate(constraints):
            if c.topology_key != HOSTNAME:
                counts[i].setdefault(_labels(info).get(c.topology_key, ""), 0)
    weights = []
    for i, c in enumerate(constraints):
        size = len(feasible) - len(ignored) if c.topology_key == HOSTNAME else len(counts[i])
        weights.append(math.log(size + 2))
    namespace = str((pod.get("metadata") or {}).get("namespace", "default"))
    for info in nodes:
        if require_all and not has_keys(info, constraints):
            continue
        for i, c in enumerate(constraints):
            value = _labels(info).get(c.topology_key, "")
            if c.includes(pod, info) and value in counts[i]:
                counts[i][value] += count_matching(info.pods, c.selector, namespace)
    raw: dict[str, int] = {}
    for info in feasible:
        if info.name in ignored:
            continue
        total = 0.0
        labels = _labels(info)
        for i, c in enumerate(constraints):
            if c.topology_key not in labels:
                continue
            if c.topology_key == HOSTNAME:
                count = count_matching(info.pods, c.selector, namespace)
            else:
                count = counts[i][labels[c.topology_key]]
            total += count * weights[i] + c.max_skew - 1
        raw[info.name] = math.floor(total + 0.5)
    return _normalize(raw, [i.name for i in feasible])


def _normalize(raw: dict[str, int], names: Sequence[str]) -> dict[str, int]:
    low, high = min(raw.values(), default=0), max([0, *raw.values()])
    result = {}
    for name in names:
        if name not in raw:
            result[name] = 0
        elif high == 0:
            result[name] = MAX_SCORE
        else:
            result[name] = MAX_SCORE * (high + low - raw[name]) // high
    return result
