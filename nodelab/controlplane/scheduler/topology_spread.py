"""PodTopologySpread's constraints and Filter, as upstream's plugin (podtopologyspread).

A constraint counts the pods its `labelSelector` matches (in the pod's namespace, not
terminating) per domain of `topologyKey` and keeps the **skew**, the count where the pod
would go (counting the pod itself if it matches) minus the smallest count of any domain, at
most `maxSkew`. Which nodes make domains: those with every constraint's key that also pass
`nodeAffinityPolicy` (default Honor: the pod's nodeSelector and required node affinity) and
`nodeTaintsPolicy` (default Ignore; Honor: taints the pod does not tolerate exclude a node).
When fewer than `minDomains` (default 1) domains exist, the smallest count is taken as 0.
`matchLabelKeys` adds `key in (the pod's value)` to the selector for each key the pod has.

`whenUnsatisfiable: DoNotSchedule` constraints filter ("node(s) didn't match pod topology
spread constraints", plus " (missing required label)" on a node without a key, which upstream
marks UnschedulableAndUnresolvable); `ScheduleAnyway` ones score (`topology_spread_score.py`).
A pod with no constraints of its own gets upstream's system defaults (hostname maxSkew 3,
zone maxSkew 5, both ScheduleAnyway) with the selector of the Services, ReplicaSets,
StatefulSets and ReplicationControllers that match it (`default_selector`); none: no spreading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nodelab.controlplane.scheduler.cluster import Cluster
from nodelab.controlplane.scheduler.filters import NodeInfo, node_affinity, taint_toleration
from nodelab.kube.label_selectors import selector_is_empty, selector_matches, with_requirements
from nodelab.kube.objects import ObjectView

ERR_CONSTRAINTS = "node(s) didn't match pod topology spread constraints"
ERR_MISSING_LABEL = ERR_CONSTRAINTS + " (missing required label)"
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
SYSTEM_DEFAULTS: tuple[dict[str, Any], ...] = (
    {"topologyKey": HOSTNAME, "whenUnsatisfiable": "ScheduleAnyway", "maxSkew": 3},
    {"topologyKey": ZONE, "whenUnsatisfiable": "ScheduleAnyway", "maxSkew": 5},
)


@dataclass(frozen=True)
class Constraint:
    max_skew: int
    topology_key: str
    selector: Mapping[str, Any] | None
    min_domains: int = 1
    node_affinity_policy: str = "Honor"
    node_taints_policy: str = "Ignore"

    def includes(self, pod: ObjectView, info: NodeInfo) -> bool:
        """Whether the node counts as a domain for this constraint (the inclusion policies)."""
        if self.node_affinity_policy == "Honor" and node_affinity(pod, info):
            return False
        return not (self.node_taints_policy == "Honor" and taint_toleration(pod, info))


def _labels(obj: ObjectView) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _namespace(obj: ObjectView) -> str:
    return str((obj.get("metadata") or {}).get("namespace", "default"))


def constraints_for(raw: Sequence[Mapping[str, Any]], pod: ObjectView,
                    action: str) -> list[Constraint]:
    """Upstream's filterTopologySpreadConstraints: the `action` ones, matchLabelKeys merged."""
    labels = _labels(pod)
    found = []
    for c in raw:
        if c.get("whenUnsatisfiable") != action:
            continue
        keys = [k for k in c.get("matchLabelKeys") or [] if k in labels]
        selector = c.get("labelSelector")
        if keys:
            selector = with_requirements(selector, [
                {"key": k, "operator": "In", "values": [labels[k]]} for k in keys])
        found.append(Constraint(int(c.get("maxSkew") or 0), str(c.get("topologyKey") or ""),
                                selector, int(c.get("minDomains") or 1),
                                c.get("nodeAffinityPolicy") or "Honor",
                                c.get("nodeTaintsPolicy") or "Ignore"))
    return found


def _controller(pod: ObjectView) -> Mapping[str, Any] | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def _named(objects: Sequence[ObjectView], namespace: str, name: str) -> ObjectView | None:
    for obj in objects:
        if _namespace(obj) == namespace and (obj.get("metadata") or {}).get("name") == name:
            return obj
    return None


def default_selector(pod: ObjectView, cluster: Cluster) -> dict[str, Any]:
    """Upstream's helper.DefaultSelector: the selectors of the Services that select the pod
    and of the ReplicationController, ReplicaSet or StatefulSet that controls it, merged."""
    namespace, labels = _namespace(pod), _labels(pod)
    match_labels: dict[str, str] = {}
    expressions: list[dict[str, Any]] = []
    for service in cluster.services:
        selector = (service.get("spec") or {}).get("selector")
        if _namespace(service) == namespace and selector is not None and all(
                labels.get(k) == v for k, v in selector.items()):
            match_labels.update(selector)
    owner = _controller(pod)
    if owner is not None:
        kinds = {("v1", "ReplicationController"): cluster.replication_controllers,
                 ("apps/v1", "ReplicaSet"): cluster.replica_sets,
                 ("apps/v1", "StatefulSet"): cluster.stateful_sets}
        objects = kinds.get((owner.get("apiVersion", ""), owner.get("kind", "")), ())
        controller = _named(objects, namespace, str(owner.get("name", "")))
        spec_selector = ((controller or {}).get("spec") or {}).get("selector") or {}
        if owner.get("kind") == "ReplicationController":
            match_labels.update(spec_selector)
        elif controller is not None:
            expressions += [{"key": k, "operator": "In", "values": [v]}
                            for k, v in (spec_selector.get("matchLabels") or {}).items()]
            expressions += list(spec_selector.get("matchExpressions") or [])
    return {"matchLabels": match_labels, "matchExpressions": expressions}


def pod_constraints(pod: ObjectView, cluster: Cluster, action: str) -> list[Constraint]:
    """The pod's own constraints for `action`, or the system defaults with its default selector."""
    own = (pod.get("spec") or {}).get("topologySpreadConstraints") or []
    if own:
        return constraints_for(own, pod, action)
    defaults = constraints_for(SYSTEM_DEFAULTS, pod, action)
    if not defaults:
        return []
    selector = default_selector(pod, cluster)
    if selector_is_empty(selector):
        return []
    return [Constraint(c.max_skew, c.topology_key, selector) for c in defaults]


def count_matching(pods: Sequence[ObjectView], selector: Mapping[str, Any] | None,
                   namespace: str) -> int:
    """Upstream's countPodsMatchSelector (an empty selector counts nothing)."""
    if selector_is_empty(selector):
        return 0
    return sum(1 for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")
               and _namespace(p) == namespace and selector_matches(selector, _labels(p)))


def has_keys(info: NodeInfo, constraints: Sequence[Constraint]) -> bool:
    labels = _labels(info.node)
    return all(c.topology_key in labels for c in constraints)


@dataclass
class SpreadState:
    pod: ObjectView
    constraints: list[Constraint]
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (key, value) -> pods
    domains: dict[str, int] = field(default_factory=dict)  # key -> number of domains

    def minimum(self, key: str, min_domains: int) -> int:
        if self.domains.get(key, 0) < min_domains:
            return 0
        return min(n for (k, _v), n in self.counts.items() if k == key)


def prefilter(pod: ObjectView, nodes: Sequence[NodeInfo], cluster: Cluster) -> SpreadState:
    state = SpreadState(pod, pod_constraints(pod, cluster, "DoNotSchedule"))
    if not state.constraints:
        return state
    namespace = _namespace(pod)
    for info in nodes:
        if not has_keys(info, state.constraints):
            continue
        on_node: dict[tuple[str, str], int] = {}
        for c in state.constraints:
            if c.includes(pod, info):
                pair = (c.topology_key, _labels(info.node)[c.topology_key])
                on_node[pair] = count_matching(info.pods, c.selector, namespace)
        for pair, count in on_node.items():
            state.counts[pair] = state.counts.get(pair, 0) + count
    for key, _value in state.counts:
        state.domains[key] = state.domains.get(key, 0) + 1
    return state


def filter_node(state: SpreadState, info: NodeInfo) -> list[str]:
    labels = _labels(info.node)
    pod_labels = _labels(state.pod)
    for c in state.constraints:
        if c.topology_key not in labels:
            return [ERR_MISSING_LABEL]
        own = 1 if selector_matches(c.selector, pod_labels) else 0
        count = state.counts.get((c.topology_key, labels[c.topology_key]), 0)
        if count + own - state.minimum(c.topology_key, c.min_domains) > c.max_skew:
            return [ERR_CONSTRAINTS]
    return []
