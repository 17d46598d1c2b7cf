"""The admission by predicates (upstream's lifecycle.predicateAdmitHandler and the
scheduler's AdmissionCheck it calls): pure.

A pod bound to the node (by the scheduler, or by a user who set `spec.nodeName` and skipped
the scheduler) is admitted before anything of it starts, against the node and the pods already
admitted there. The checks, in upstream's order, and what a rejection says (the pod becomes
`phase: Failed` with `reason` and `message: Pod was rejected: <message>`, and a Warning event
of that reason and message):

- the pod's `kubernetes.io/os` label differs from the node's:
  `PodOSSelectorNodeLabelDoesNotMatch`, "Failed to admit pod as the `kubernetes.io/os` label
  doesn't match node label";
- `spec.os.name` is not linux: `PodOSNotSupported`, "Failed to admit pod as the OS field
  doesn't match node OS";
- `supplementalGroupsPolicy: Strict` where the Node's `status.features` does not say the
  runtime supports it: `SupplementalGroupsPolicyNotSupported`, "SupplementalGroupsPolicy=Strict
  is not supported in this node";
- the pod count, cpu, memory or another resource beside the admitted pods: `OutOfpods`,
  `OutOfcpu`, `OutOfmemory`, `OutOf<name>`, "Node didn't have enough resource: cpu, requested:
  3000, used: 0, capacity: 2000" (cpu in millicores, memory in bytes);
- nodeSelector or required node affinity: `NodeAffinity`, "Predicate NodeAffinity failed:
  node(s) didn't match Pod's node affinity/selector";
- `spec.nodeName` names another node: `NodeName`, "Predicate NodeName failed: node(s) didn't
  match the requested node name";
- a host port is taken: `NodePorts`, "Predicate NodePorts failed: node(s) didn't have free
  ports for the requested pod ports";
- a NoExecute taint is not tolerated: `TaintToleration`, "Predicate TaintToleration failed:
  node(s) had taints that the pod didn't tolerate".

Only the first failure is reported. Extended resources the node does not have at all
(cluster-level resources) are left out of the requests, as upstream's
removeMissingExtendedResources. The eviction manager's check and the sysctls come before
these (`handlers.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from typing import Any

from nodelab.kube.objects import ObjectView
from nodelab.kube.scheduling.predicates import (
    host_ports_free,
    insufficient_resources,
    matches_node_selector_and_affinity,
    untolerated_taint,
)
from nodelab.kube.scheduling.resources import is_extended_resource
from nodelab.kubelet.pods.admission.result import Rejection

OS_LABEL = "kubernetes.io/os"
NODE_OS = "linux"
TERMINAL = ("Succeeded", "Failed")
PREDICATE_ERRORS = {
    "NodeAffinity": "node(s) didn't match Pod's node affinity/selector",
    "NodeName": "node(s) didn't match the requested node name",
    "NodePorts": "node(s) didn't have free ports for the requested pod ports",
    "TaintToleration": "node(s) had taints that the pod didn't tolerate",
}


def _predicate(name: str) -> Rejection:
    return Rejection(name, f"Predicate {name} failed: {PREDICATE_ERRORS[name]}")


def without_missing_extended_resources(pod: ObjectView, node: ObjectView) -> dict[str, Any]:
    """The pod with the requests of extended resources the node does not have removed."""
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    spec = dict(pod.get("spec") or {})
    for key in ("containers", "initContainers"):
        containers = []
        for container in spec.get(key) or []:
            resources = dict(container.get("resources") or {})
            requests = {name: value for name, value in (resources.get("requests") or {}).items()
                        if not is_extended_resource(name) or name in allocatable}
            # limits default the requests (pod_requests reads both), so drop those too
            limits = {name: value for name, value in (resources.get("limits") or {}).items()
                      if not is_extended_resource(name) or name in allocatable}
            containers.append({**container, "resources": {**resources, "requests": requests,
                                                          "limits": limits}})
        spec[key] = containers
    return {**pod, "spec": spec}


def _out_of(name: str) -> str:
    return f"OutOf{name}"


def admit(pod: ObjectView, node: ObjectView, others: Sequence[ObjectView]) -> Rejection | None:
    """Why the node cannot run `pod` beside `others` (the pods admitted before it), or None."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    node_os = labels.get(OS_LABEL) if labels.get(OS_LABEL) == NODE_OS else NODE_OS
    pod_os = ((pod.get("metadata") or {}).get("labels") or {}).get(OS_LABEL)
    if pod_os is not None and pod_os != node_os:
        return Rejection("PodOSSelectorNodeLabelDoesNotMatch", "Failed to admit pod as the "
                         "`kubernetes.io/os` label doesn't match node label")
    os_name = ((pod.get("spec") or {}).get("os") or {}).get("name")
    if os_name is not None and os_name != NODE_OS:
        return Rejection("PodOSNotSupported",
                         "Failed to admit pod as the OS field doesn't match node OS")
    policy = (((pod.get("spec") or {}).get("securityContext") or {})
              .get("supplementalGroupsPolicy"))
    features = (node.get("status") or {}).get("features") or {}
    if policy == "Strict" and not features.get("supplementalGroupsPolicy"):
        return Rejection("SupplementalGroupsPolicyNotSupported",
                         "SupplementalGroupsPolicy=Strict is not supported in this node")
    checked = without_missing_extended_resources(pod, node)
    lacking = insufficient_resources(checked, node, others)
    if lacking:
        first = lacking[0]
        return Rejection(_out_of(first.name), f"Node didn't have enough resource: {first.name}, "
                         f"requested: {first.requested}, used: {first.used}, "
                         f"capacity: {first.capacity}")
    if not matches_node_selector_and_affinity(pod, node):
        return _predicate("NodeAffinity")
    wanted = (pod.get("spec") or {}).get("nodeName")
    if wanted and wanted != (node.get("metadata") or {}).get("name"):
        return _predicate("NodeName")
    if not host_ports_free(pod, others):
        return _predicate("NodePorts")
    if untolerated_taint(pod, node, ("NoExecute",)) is not None:
        return _predicate("TaintToleration")
    return None


def _created(pod: ObjectView) -> tuple[str, str]:
    metadata = pod.get("metadata") or {}
    return str(metadata.get("creationTimestamp") or ""), str(metadata.get("name") or "")


def admitted_peers(pod: ObjectView, pods: Iterable[ObjectView], admitted: Set[str],
                   rejected: Set[str]) -> list[ObjectView]:
    """The pods `pod` is admitted beside: the node's other pods that are not finished and
    not rejected, and were admitted already or were created before it (upstream admits a
    batch oldest first, so an older pod not admitted yet will be before this one)."""
    uid = (pod.get("metadata") or {}).get("uid")
    mine = _created(pod)
    peers = []
    for other in pods:
        other_uid = (other.get("metadata") or {}).get("uid")
        if other_uid == uid or other_uid in rejected:
            continue
        if (other.get("status") or {}).get("phase") in TERMINAL:
            continue
        if other_uid in admitted or _created(other) < mine:
            peers.append(other)
    return peers
