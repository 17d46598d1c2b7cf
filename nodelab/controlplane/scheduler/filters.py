"""Filter plugins, each named and worded as upstream kube-scheduler's.

A filter takes the pod and one candidate node (with the pods already on it) and returns the
reasons the node cannot take the pod: an empty list means it fits. The reason strings are
upstream's, because `FailedScheduling` messages count them across nodes
(`0/3 nodes are available: 1 node(s) had untolerated taint {...}, 2 Insufficient cpu.`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from nodelab.controlplane.scheduler.resources import (
    node_allocatable,
    pod_requests,
    requested_on,
)
from nodelab.kube.objects import ObjectView

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


def tolerates(tolerations: Sequence[ObjectView], taint: ObjectView) -> bool:
    for toleration in tolerations:
        effect = toleration.get("effect")
        if effect and effect != taint.get("effect"):
            continue
        key = toleration.get("key")
        operator = toleration.get("operator") or "Equal"
        if operator == "Exists":
            if not key or key == taint.get("key"):
                return True
        elif key == taint.get("key") and (toleration.get("value") or "") == (
            taint.get("value") or ""
        ):
            return True
    return False


def node_unschedulable(pod: ObjectView, info: NodeInfo) -> list[str]:
    if not (info.node.get("spec") or {}).get("unschedulable"):
        return []
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    return [] if tolerates(tolerations, UNSCHEDULABLE_TAINT) else [ERR_UNSCHEDULABLE]


def taint_toleration(pod: ObjectView, info: NodeInfo) -> list[str]:
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    for taint in (info.node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not tolerates(tolerations, taint):
            shown = f"{{{taint.get('key')}: {taint.get('value') or ''}}}"
            return [f"node(s) had untolerated taint {shown}"]
    return []


def _expression_matches(expression: ObjectView, labels: Mapping[str, str]) -> bool:
    key, operator = expression.get("key", ""), expression.get("operator", "")
    values = list(expression.get("values") or [])
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and len(values) == 1:
        try:
            have, bound = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > bound if operator == "Gt" else have < bound
    return False


def term_matches(term: ObjectView, labels: Mapping[str, str], name: str) -> bool:
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False  # an empty term matches nothing
    return all(_expression_matches(e, labels) for e in expressions) and all(
        _expression_matches(f, {"metadata.name": name}) for f in fields
    )


def node_affinity(pod: ObjectView, info: NodeInfo) -> list[str]:
    spec = pod.get("spec") or {}
    labels = (info.node.get("metadata") or {}).get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return [ERR_AFFINITY]
    required = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {})
        .get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    )
    terms = required.get("nodeSelectorTerms")
    if terms is not None and not any(term_matches(t, labels, info.name) for t in terms):
        return [ERR_AFFINITY]
    return []


def node_resources_fit(pod: ObjectView, info: NodeInfo) -> list[str]:
    allocatable, max_pods = node_allocatable(info.node)
    reasons = []
    if len(info.pods) + 1 > max_pods:
        reasons.append(ERR_TOO_MANY_PODS)
    wanted = pod_requests(pod)
    used = requested_on(info.pods)
    if wanted.milli_cpu and used.milli_cpu + wanted.milli_cpu > allocatable.milli_cpu:
        reasons.append("Insufficient cpu")
    if wanted.memory and used.memory + wanted.memory > allocatable.memory:
        reasons.append("Insufficient memory")
    for name, amount in sorted(wanted.scalar.items()):
        if amount and used.scalar.get(name, 0) + amount > allocatable.scalar.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


def _host_ports(pod: ObjectView) -> set[tuple[str, str, int]]:
    ports = set()
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                ports.add((port.get("hostIP") or "0.0.0.0", port.get("protocol") or "TCP",
                           int(port["hostPort"])))
    return ports


def node_ports(pod: ObjectView, info: NodeInfo) -> list[str]:
    wanted = _host_ports(pod)
    if not wanted:
        return []
    used = set().union(*(_host_ports(p) for p in info.pods)) if info.pods else set()
    for ip, protocol, port in wanted:
        for used_ip, used_protocol, used_port in used:
            same_ip = "0.0.0.0" in (ip, used_ip) or ip == used_ip
            if port == used_port and protocol == used_protocol and same_ip:
                return [ERR_PORTS]
    return []


# Upstream's default order; a node's reasons come from the first filter that rejects it.
FILTERS: tuple[tuple[str, Filter], ...] = (
    ("NodeUnschedulable", node_unschedulable),
    ("NodeName", node_name),
    ("TaintToleration", taint_toleration),
    ("NodeAffinity", node_affinity),
    ("NodePorts", node_ports),
    ("NodeResourcesFit", node_resources_fit),
)
