"""InterPodAffinity's Filter, as upstream's plugin (framework/plugins/interpodaffinity).

`prefilter` counts, once per pod and cycle, per topology pair (a node label key and value):
- `existing_anti`: existing pods whose **required anti-affinity** terms select the incoming
  pod (each term counted in the domain of the existing pod's node);
- `affinity`: existing pods that match **all** of the incoming pod's required affinity terms;
- `anti`: existing pods matching each of the incoming pod's required anti-affinity terms.

`filter` then rejects a node, in upstream's order and words:
1. "node(s) didn't match pod affinity rules" when the node lacks a term's topology key or
   some term's domain has no matching pod, unless no pod anywhere matches and the pod matches
   its own terms (the first pod of a group that wants to be together may go anywhere that has
   the keys). Upstream marks it UnschedulableAndUnresolvable: preemption cannot help.
2. "node(s) didn't match pod anti-affinity rules" when a term's domain on the node holds a pod
   it selects;
3. "node(s) didn't satisfy existing pods anti-affinity rules" when a pod in one of the node's
   domains has a required anti-affinity term that selects the incoming pod.
Namespaces of the incoming pod's terms include those its `namespaceSelector` matches; the
existing pods' terms are checked against the labels of the incoming pod's namespace.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from nodelab.controlplane.scheduler.affinity_terms import AffinityTerm, required_terms
from nodelab.controlplane.scheduler.cluster import Cluster
from nodelab.controlplane.scheduler.filters import NodeInfo
from nodelab.kube.objects import ObjectView

ERR_AFFINITY_RULES = "node(s) didn't match pod affinity rules"
ERR_ANTI_AFFINITY_RULES = "node(s) didn't match pod anti-affinity rules"
ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"

Pair = tuple[str, str]


@dataclass
class AffinityState:
    pod: ObjectView
    affinity_terms: list[AffinityTerm] = field(default_factory=list)
    anti_terms: list[AffinityTerm] = field(default_factory=list)
    existing_anti: Counter[Pair] = field(default_factory=Counter)
    affinity: Counter[Pair] = field(default_factory=Counter)
    anti: Counter[Pair] = field(default_factory=Counter)


def _labels(info: NodeInfo) -> dict[str, str]:
    return dict((info.node.get("metadata") or {}).get("labels") or {})


def _namespace(pod: ObjectView) -> str:
    return str((pod.get("metadata") or {}).get("namespace", "default"))


def matches_all(terms: Sequence[AffinityTerm], pod: ObjectView, cluster: Cluster) -> bool:
    """Whether `pod` matches every term (False for no terms), as podMatchesAllAffinityTerms."""
    labels = cluster.labels_of(_namespace(pod))
    return bool(terms) and all(t.matches(pod, labels) for t in terms)


def prefilter(pod: ObjectView, nodes: Sequence[NodeInfo], cluster: Cluster) -> AffinityState:
    state = AffinityState(pod, required_terms(pod, "podAffinity"),
                          required_terms(pod, "podAntiAffinity"))
    own_namespace = cluster.labels_of(_namespace(pod))
    for info in nodes:
        labels = _labels(info)
        for existing in info.pods:
            for term in required_terms(existing, "podAntiAffinity"):
                if term.topology_key in labels and term.matches(pod, own_namespace):
                    state.existing_anti[(term.topology_key, labels[term.topology_key])] += 1
            existing_namespace = cluster.labels_of(_namespace(existing))
            if matches_all(state.affinity_terms, existing, cluster):
                for term in state.affinity_terms:
                    if term.topology_key in labels:
                        state.affinity[(term.topology_key, labels[term.topology_key])] += 1
            for term in state.anti_terms:
                if term.topology_key in labels and term.matches(existing, existing_namespace):
                    state.anti[(term.topology_key, labels[term.topology_key])] += 1
    return state


def _satisfies_affinity(state: AffinityState, labels: dict[str, str],
                        cluster: Cluster) -> bool:
    if not state.affinity_terms:
        return True
    pods_exist = True
    for term in state.affinity_terms:
        if term.topology_key not in labels:
            return False  # all topology labels must exist, also for self-affinity
        if state.affinity[(term.topology_key, labels[term.topology_key])] <= 0:
            pods_exist = False
    if pods_exist:
        return True
    return not +state.affinity and matches_all(state.affinity_terms, state.pod, cluster)


def filter_node(state: AffinityState, info: NodeInfo, cluster: Cluster) -> list[str]:
    labels = _labels(info)
    if not _satisfies_affinity(state, labels, cluster):
        return [ERR_AFFINITY_RULES]
    for term in state.anti_terms:
        if term.topology_key in labels and \
                state.anti[(term.topology_key, labels[term.topology_key])] > 0:
            return [ERR_ANTI_AFFINITY_RULES]
    if any(state.existing_anti[pair] > 0 for pair in labels.items()):
        return [ERR_EXISTING_ANTI_AFFINITY]
    return []
