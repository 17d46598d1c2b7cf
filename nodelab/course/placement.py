"""Pods on the lab's nodes, whatever the cluster: node names and placement for joined labs.

On the embedded lab every node is the lab's, named `node1`, `node2`, ... On a cluster the
lab's nodes joined (`cluster="kind"` or a kubeconfig), they are `<lab>-node1`, ..., beside the
cluster's own nodes, labelled `nodelab.dev/lab=<lab>` and tainted
`nodelab.dev/lab=true:NoSchedule` (docs/join.md): a pod lands there only when it selects that
label and tolerates that taint.

`lab_node(lab, "node1")` is the node's name in the cluster; `on_lab(lab, manifest)` returns the
manifest (an object, a list of them, or YAML/JSON text) with every pod spec in it (Pods, and the
pod templates of Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs and CronJobs) selecting
and tolerating the lab's nodes. On the embedded lab both change nothing, so the notebooks read
the same there.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

import yaml

from nodelab.lab.join.steps import LAB_LABEL, kube_node_name
from nodelab.lab.lab import Lab

Manifest = TypeVar("Manifest", str, dict[str, Any], list[Any])

# where each workload kind keeps its pod spec
_POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def lab_toleration() -> dict[str, str]:
    """The toleration of a joined lab's taint `nodelab.dev/lab=true:NoSchedule`."""
    return {"key": LAB_LABEL, "operator": "Equal", "value": "true", "effect": "NoSchedule"}


def place_spec(spec: dict[str, Any], lab: str) -> None:
    """Make a pod spec select and tolerate the nodes of joined lab `lab` (in place)."""
    spec["nodeSelector"] = {**(spec.get("nodeSelector") or {}), LAB_LABEL: lab}
    tolerations = list(spec.get("tolerations") or [])
    if lab_toleration() not in tolerations:
        tolerations.append(lab_toleration())
    spec["tolerations"] = tolerations


def place_object(obj: Any, lab: str) -> Any:
    """A copy of one object (or a List) with its pod spec placed on joined lab `lab`."""
    placed = copy.deepcopy(obj)
    if not isinstance(placed, dict):
        return placed
    if placed.get("kind") == "List":
        placed["items"] = [place_object(item, lab) for item in placed.get("items") or []]
        return placed
    path = _POD_SPEC_PATHS.get(str(placed.get("kind")))
    if path is None:
        return placed
    node: Any = placed
    for key in path:
        node = node.setdefault(key, {}) if isinstance(node, dict) else None
    if isinstance(node, dict):
        place_spec(node, lab)
    return placed


def place_manifest(manifest: Manifest, lab: str) -> Manifest:
    """`place_object` over a manifest: an object, a list of objects, or YAML/JSON text (one or
    more documents; returned as YAML)."""
    if isinstance(manifest, str):
        docs = [doc for doc in yaml.safe_load_all(manifest) if doc is not None]
        return yaml.safe_dump_all([place_object(doc, lab) for doc in docs], sort_keys=False)
    if isinstance(manifest, list):
        return [place_object(obj, lab) for obj in manifest]
    placed: dict[str, Any] = place_object(manifest, lab)
    return placed


def lab_node(lab: Lab | None, node: str = "node1") -> str:
    """The name in the cluster of the lab's node `node` (`node1` on the embedded lab or
    without a lab, `<lab>-node1` on a joined one)."""
    if lab is None or not lab.description.joined:
        return node
    return kube_node_name(lab.name, lab.topology.node(node))


def on_lab(lab: Lab | None, manifest: Manifest) -> Manifest:
    """The manifest with its pods placed on the lab's nodes: unchanged on the embedded lab (or
    without one), selecting and tolerating the lab's nodes on a joined one."""
    if lab is None or not lab.description.joined:
        return manifest
    return place_manifest(manifest, lab.name)
