"""Filter plugins, each named and worded as upstream kube-scheduler's.

A filter takes the pod and one candidate node (with the pods already on it) and returns the
reasons the node cannot take the pod: an empty list means it fits. The reason strings are
upstream's, because `FailedScheduling` messages count them across nodes
(`0/3 nodes are available: 1 node(s) had untolerated taint {...}, 2 Insufficient cpu.`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from nodelab.kube.objects import ObjectView
from nodelab.kube.scheduling.predicates import (
    host_ports_free,
    insufficient_resources,
    matches_node_selector_and_affinity,
    tolerates,
    untolerated_taint,
)

ERR_NODE_NAME = "node(s) didn't match the requested node name"
ERR_UNSCHEDULABLE = "node(s) were unschedulable"
ERR_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
ERR_PORTS = "node(s) didn't have free ports for the requested pod ports"
ERR_TOO_MANY_PODS = "Too many pods"
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


@dataclass
class NodeInfo:
    """A candidate node and the pods already bound to it."""

    node: ObjectView
    pods: Sequence[ObjectView] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.node["metadata"]["name"])


Filter = Callable[[ObjectView, NodeInfo], list[str]]


def node_name(pod: ObjectView, info: NodeInfo) -> list[str]:
    wanted = (pod.get("spec") or {}).get("nodeName")
    return [ERR_NODE_NAME] if wanted and wanted != info.name else []


def node_unschedulable(pod: ObjectView, info: NodeInfo) -> list[str]:
    if not (info.node.get("spec") or {}).get("unschedulable"):
        return []
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    return [] if tolerates(tolerations, UNSCHEDULABLE_TAINT) else [ERR_UNSCHEDULABLE]


def taint_toleration(pod: ObjectView, info: NodeInfo) -> list[str]:
    taint = untolerated_taint(pod, info.node, ("NoSchedule", "NoExecute"))
    if taint is None:
        return []
    return [f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value') or ''}}}"]


def node_affinity(pod: ObjectView, info: NodeInfo) -> list[str]:
    return [] if matches_node_selector_and_affinity(pod, info.node) else [ERR_AFFINITY]


def node_resources_fit(pod: ObjectView, info: NodeInfo) -> list[str]:
    return [ERR_TOO_MANY_PODS if lack.name == "pods" else f"Insufficient {lack.name}"
            for lack in insufficient_resources(pod, info.node, info.pods)]


def node_ports(pod: ObjectView, info: NodeInfo) -> list[str]:
    return [] if host_ports_free(pod, info.pods) else [ERR_PORTS]


# Upstream's default order; a node's reasons come from the first filter that rejects it.
FILTERS: tuple[tuple[str, Filter], ...] = (
    ("NodeUnschedulable", node_unschedulable),
    ("NodeName", node_name),
    ("TaintToleration", taint_toleration),
    ("NodeAffinity", node_affinity),
    ("NodePorts", node_ports),
    ("NodeResourcesFit", node_resources_fit),
)
