"""Pod-to-node predicates, pure: the scheduler's filters and the kubelet's admission word
their answers differently, but decide with these (upstream: the nodeaffinity, tainttoleration,
nodeports and noderesources plugins' Fits functions, shared with the kubelet through
AdmissionCheck)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nodelab.kube.label_selectors import NODE_OPERATORS, expression_requirement
from nodelab.kube.objects import ObjectView
from nodelab.kube.scheduling.resources import node_allocatable, pod_requests, requested_on


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


def untolerated_taint(pod: ObjectView, node: ObjectView,
                      effects: tuple[str, ...]) -> ObjectView | None:
    """The first of the node's taints with one of `effects` the pod does not tolerate."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    taints: Sequence[ObjectView] = (node.get("spec") or {}).get("taints") or []
    return next((t for t in taints
                 if t.get("effect") in effects and not tolerates(tolerations, t)), None)


def _expression_matches(expression: ObjectView, labels: Mapping[str, str]) -> bool:
    """A node selector requirement: a label selector's operators, and Gt/Lt on integers."""
    requirement = expression_requirement(expression, NODE_OPERATORS)
    return requirement.matches(labels.get(requirement.key))


def term_matches(term: ObjectView, labels: Mapping[str, str], name: str) -> bool:
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False  # an empty term matches nothing
    return all(_expression_matches(e, labels) for e in expressions) and all(
        _expression_matches(f, {"metadata.name": name}) for f in fields
    )


def matches_node_selector_and_affinity(pod: ObjectView, node: ObjectView) -> bool:
    """The pod's nodeSelector and required node affinity match the node
    (GetRequiredNodeAffinity(pod).Match(node))."""
    spec = pod.get("spec") or {}
    metadata = node.get("metadata") or {}
    labels = metadata.get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {})
        .get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    )
    terms = required.get("nodeSelectorTerms")
    name = str(metadata.get("name") or "")
    return terms is None or any(term_matches(t, labels, name) for t in terms)


def host_ports(pod: ObjectView) -> set[tuple[str, str, int]]:
    ports = set()
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                ports.add((port.get("hostIP") or "0.0.0.0", port.get("protocol") or "TCP",
                           int(port["hostPort"])))
    return ports


def host_ports_free(pod: ObjectView, others: Sequence[ObjectView]) -> bool:
    wanted = host_ports(pod)
    if not wanted:
        return True
    used = set().union(*(host_ports(p) for p in others)) if others else set()
    for ip, protocol, port in wanted:
        for used_ip, used_protocol, used_port in used:
            same_ip = "0.0.0.0" in (ip, used_ip) or ip == used_ip
            if port == used_port and protocol == used_protocol and same_ip:
                return False
    return True


@dataclass(frozen=True)
class InsufficientResource:
    """One resource the node lacks for the pod (upstream's noderesources.InsufficientResource;
    cpu in millicores, memory and storage in bytes)."""

    name: str
    requested: int
    used: int
    capacity: int


def insufficient_resources(pod: ObjectView, node: ObjectView,
                           others: Sequence[ObjectView]) -> list[InsufficientResource]:
    """What the node lacks for the pod beside `others`, in upstream's order (fitsRequest):
    the pod count, then cpu, memory and the other resources the pod requests."""
    allocatable, max_pods = node_allocatable(node)
    found = []
    if len(others) + 1 > max_pods:
        found.append(InsufficientResource("pods", 1, len(others), max_pods))
    wanted = pod_requests(pod)
    used = requested_on(others)
    if wanted.milli_cpu and used.milli_cpu + wanted.milli_cpu > allocatable.milli_cpu:
        found.append(InsufficientResource("cpu", wanted.milli_cpu, used.milli_cpu,
                                          allocatable.milli_cpu))
    if wanted.memory and used.memory + wanted.memory > allocatable.memory:
        found.append(InsufficientResource("memory", wanted.memory, used.memory,
                                          allocatable.memory))
    for name, amount in sorted(wanted.scalar.items()):
        if amount and used.scalar.get(name, 0) + amount > allocatable.scalar.get(name, 0):
            found.append(InsufficientResource(name, amount, used.scalar.get(name, 0),
                                              allocatable.scalar.get(name, 0)))
    return found
