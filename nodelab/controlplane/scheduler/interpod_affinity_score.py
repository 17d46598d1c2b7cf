"""InterPodAffinity's Score, as upstream's plugin (interpodaffinity/scoring.go).

Every existing pod adds to a score per topology pair (key, value of its node's label):
- the incoming pod's preferred affinity terms that select it: +weight,
  its preferred anti-affinity terms: -weight;
- the existing pod's required affinity terms that select the incoming pod:
  +hardPodAffinityWeight (1 by default), its preferred affinity terms: +weight and its
  preferred anti-affinity terms: -weight.
A node's raw score is the sum over the pairs its labels hold; the raw scores are then scaled
to 0..100 between the lowest and the highest (all 0 when they are equal or nothing counted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from nodelab.controlplane.scheduler.affinity_terms import (
    AffinityTerm,
    preferred_terms,
    required_terms,
)
from nodelab.controlplane.scheduler.cluster import Cluster
from nodelab.controlplane.scheduler.filters import NodeInfo
from nodelab.kube.objects import ObjectView

HARD_POD_AFFINITY_WEIGHT = 1
MAX_SCORE = 100


def _add(scores: dict[tuple[str, str], int], term: AffinityTerm, weight: int,
         pod: ObjectView, namespace_labels: Mapping[str, str] | None,
         node_labels: Mapping[str, str]) -> None:
    if term.topology_key in node_labels and term.matches(pod, namespace_labels):
        pair = (term.topology_key, node_labels[term.topology_key])
        scores[pair] = scores.get(pair, 0) + weight


def topology_scores(pod: ObjectView, nodes: Sequence[NodeInfo],
                    cluster: Cluster) -> dict[tuple[str, str], int]:
    """Upstream's PreScore: the score of every topology pair for `pod`."""
    namespace = (pod.get("metadata") or {}).get("namespace", "default")
    own_labels = cluster.labels_of(namespace)
    wanted = preferred_terms(pod, "podAffinity")
    unwanted = preferred_terms(pod, "podAntiAffinity")
    scores: dict[tuple[str, str], int] = {}
    for info in nodes:
        node_labels = (info.node.get("metadata") or {}).get("labels") or {}
        if not node_labels:
            continue
        for existing in info.pods:
            labels = cluster.labels_of((existing.get("metadata") or {}).get("namespace",
                                                                            "default"))
            for term in wanted:
                _add(scores, term, term.weight, existing, labels, node_labels)
            for term in unwanted:
                _add(scores, term, -term.weight, existing, labels, node_labels)
            for term in required_terms(existing, "podAffinity"):
                _add(scores, term, HARD_POD_AFFINITY_WEIGHT, pod, own_labels, node_labels)
            for term in preferred_terms(existing, "podAffinity"):
                _add(scores, term, term.weight, pod, own_labels, node_labels)
            for term in preferred_terms(existing, "podAntiAffinity"):
                _add(scores, term, -term.weight, pod, own_labels, node_labels)
    return scores


def score(pod: ObjectView, feasible: Sequence[NodeInfo], nodes: Sequence[NodeInfo],
          cluster: Cluster) -> dict[str, int]:
    """Normalized 0..100 scores of the feasible nodes (Score, then NormalizeScore)."""
    pairs = topology_scores(pod, nodes, cluster)
    raw = {}
    for info in feasible:
        labels = (info.node.get("metadata") or {}).get("labels") or {}
        raw[info.name] = sum(value for (key, label), value in pairs.items()
                             if labels.get(key) == label and key in labels)
    if not pairs or not raw:
        return dict.fromkeys(raw, 0)
    low, high = min(raw.values()), max(raw.values())
    if high == low:
        return dict.fromkeys(raw, 0)
    return {name: int(MAX_SCORE * (value - low) / (high - low)) for name, value in raw.items()}
