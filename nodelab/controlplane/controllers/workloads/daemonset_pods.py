"""A DaemonSet's pods: which nodes should run one, and the pod made for a node (upstream's
pkg/controller/daemon `NodeShouldRunDaemonPod` and `util.AddOrUpdateDaemonPodTolerations`,
`ReplaceDaemonSetPodNodeNameNodeAffinity`).

- A node **should run** a daemon pod when the template's `nodeName` (if any) names it, its
  nodeSelector and required node affinity match the node, and every NoSchedule/NoExecute
  taint is tolerated; a pod already there **may continue** as long as the NoExecute taints
  are tolerated.
- Since 1.12 the scheduler places daemon pods: the controller does not set `nodeName` but a
  required node affinity `matchFields: metadata.name In [<node>]` (replacing the template's
  node selector terms, which were already checked against the node), and adds the
  tolerations every daemon pod gets: not-ready and unreachable (NoExecute, no time limit),
  disk-, memory- and pid-pressure and unschedulable (NoSchedule), and network-unavailable
  for hostNetwork pods. A template toleration with the same key, effect, operator and value
  is replaced by the daemon one.
- Pods carry the template's labels plus `controller-revision-hash` and
  `pod-template-generation`.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from nodelab.controlplane.controllers.workloads.controllerrevision_plan import HASH_LABEL
from nodelab.controlplane.controllers.workloads.replicaset_plan import owner_reference
from nodelab.controlplane.scheduler.filters import (
    NodeInfo,
    node_affinity,
    node_name,
)
from nodelab.kube.objects import ObjectView
from nodelab.kube.scheduling.predicates import tolerates
from nodelab.kubewire.times import parse_time

GENERATION_LABEL = "pod-template-generation"


def _toleration(key: str, effect: str) -> dict[str, Any]:
    return {"key": f"node.kubernetes.io/{key}", "operator": "Exists", "effect": effect}


DAEMON_TOLERATIONS = (
    _toleration("not-ready", "NoExecute"),
    _toleration("unreachable", "NoExecute"),
    _toleration("disk-pressure", "NoSchedule"),
    _toleration("memory-pressure", "NoSchedule"),
    _toleration("pid-pressure", "NoSchedule"),
    _toleration("unschedulable", "NoSchedule"),
)
HOST_NETWORK_TOLERATION = _toleration("network-unavailable", "NoSchedule")


def should_run(template_spec: ObjectView, node: ObjectView) -> tuple[bool, bool]:
    """(should run a daemon pod, may keep running one) on `node`."""
    pod = {"spec": with_daemon_tolerations(template_spec)}
    info = NodeInfo(node)
    if node_name(pod, info) or node_affinity(pod, info):
        return False, False
    tolerations = pod["spec"].get("tolerations") or []
    taints = (node.get("spec") or {}).get("taints") or []
    untolerated = {t.get("effect") for t in taints if t.get("effect") in (
        "NoSchedule", "NoExecute") and not tolerates(tolerations, t)}
    return not untolerated, "NoExecute" not in untolerated


def _same(a: ObjectView, b: ObjectView) -> bool:
    return all((a.get(k) or "") == (b.get(k) or "") for k in ("key", "operator", "value",
                                                               "effect"))


def with_daemon_tolerations(spec: ObjectView) -> dict[str, Any]:
    result = copy.deepcopy(dict(spec))
    tolerations = list(result.get("tolerations") or [])
    wanted = list(DAEMON_TOLERATIONS)
    if result.get("hostNetwork"):
        wanted.append(HOST_NETWORK_TOLERATION)
    for toleration in wanted:
        tolerations = [t for t in tolerations if not _same(t, toleration)]
        tolerations.append(dict(toleration))
    result["tolerations"] = tolerations
    return result


def daemon_pod(ds: ObjectView, node: str, hash_value: str) -> dict[str, Any]:
    template = (ds.get("spec") or {}).get("template") or {}
    metadata = template.get("metadata") or {}
    spec = with_daemon_tolerations(template.get("spec") or {})
    affinity = spec.setdefault("affinity", {})
    node_affinity_spec = affinity.setdefault("nodeAffinity", {})
    node_affinity_spec["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": [node]}]}]}
    labels = dict(metadata.get("labels") or {})
    labels[HASH_LABEL] = hash_value
    labels[GENERATION_LABEL] = str((ds.get("metadata") or {}).get("generation", 1))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": f"{ds['metadata']['name']}-",
            "namespace": ds["metadata"]["namespace"],
            "labels": labels,
            "annotations": dict(metadata.get("annotations") or {}),
            "ownerReferences": [owner_reference(ds, "DaemonSet", "apps/v1")],
        },
        "spec": spec,
    }


def target_node(pod: ObjectView) -> str | None:
    """The node a daemon pod is for: where it runs, else its metadata.name affinity."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or []:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("operator") == "In" and len(
                    field.get("values") or []) == 1:
                return str(field["values"][0])
    return None


def available(pod: ObjectView, min_ready_seconds: int, now: dt.datetime) -> bool:
    """Ready for at least minReadySeconds (upstream's podutil.IsPodAvailable)."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            if min_ready_seconds <= 0:
                return True
            since = parse_time(condition.get("lastTransitionTime"))
            return since is not None and now - since >= dt.timedelta(seconds=min_ready_seconds)
    return False
