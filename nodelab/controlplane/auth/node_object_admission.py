"""NodeRestriction's checks of what a node writes into objects (upstream's admitNode and
admitPodCreate, plugin/pkg/admission/noderestriction), beside the request-level rules of
`node_restriction.py`:

- its own Node: created without `spec.configSource` and without labels a kubelet may not set;
  updated (the object as the write leaves it, patches applied) without a new configSource,
  with its taints unchanged, and without adding, removing or changing a label a kubelet may
  not set. A kubelet may set `kubernetes.io/hostname`, the os/arch/zone/region/instance-type
  labels (and their beta twins), and anything under `kubelet.kubernetes.io` or
  `node.kubernetes.io`; no `node-restriction.kubernetes.io` label, nor any other
  `kubernetes.io` or `k8s.io` one (`kubeletapis.IsKubeletLabel`);
- a mirror pod: bound to itself, owned by its own Node alone (a controller reference with the
  Node's uid, without blockOwnerDeletion), and referring to no service account, secret,
  configMap, clusterTrustBundle or persistentVolumeClaim.

Each function returns the admission error's text (None: admitted), which the caller answers as
`<resource> "<name>" is forbidden: <text>`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nodelab.kube.objects import ObjectView
from nodelab.kube.pod.references import pod_references
from nodelab.kubewire.go_quote import go_quote

NODE_RESTRICTION_NAMESPACE = "node-restriction.kubernetes.io"
KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
    "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type", "kubernetes.io/os",
    "kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/arch"})
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
NO_NODE = ""  # mirror_pod_denial: the node's own Node is not there (upstream's NotFound)


def _namespace(key: str) -> str:
    prefix, slash, _ = key.partition("/")
    return prefix if slash else ""


def _within(namespace: str, domain: str) -> bool:
    return namespace == domain or namespace.endswith("." + domain)


def is_kubelet_label(key: str) -> bool:
    """`kubeletapis.IsKubeletLabel`: a label a kubelet may set on its own Node."""
    return key in KUBELET_LABELS or any(_within(_namespace(key), allowed)
                                        for allowed in KUBELET_LABEL_NAMESPACES)


def forbidden_labels(new: Mapping[str, str], old: Mapping[str, str]) -> list[str]:
    """`getForbiddenLabels(getModifiedLabels(new, old))`, sorted as Go's sets list them."""
    modified = {k for k, v in new.items() if old.get(k) != v or k not in old}
    modified |= {k for k, v in old.items() if new.get(k) != v or k not in new}
    found = set()
    for key in modified:
        namespace = _namespace(key)
        if _within(namespace, NODE_RESTRICTION_NAMESPACE):
            found.add(key)
        kubernetes = _within(namespace, "kubernetes.io") or _within(namespace, "k8s.io")
        if kubernetes and not is_kubelet_label(key):
            found.add(key)
    return sorted(found)


def _labels(obj: ObjectView | None) -> Mapping[str, str]:
    return ((obj or {}).get("metadata") or {}).get("labels") or {}


def _spec(obj: ObjectView | None) -> Mapping[str, Any]:
    return (obj or {}).get("spec") or {}


def node_denial(node: str, new: ObjectView, old: ObjectView | None) -> str | None:
    """admitNode's checks of the object (`old` None: a create)."""
    quoted = go_quote(node)
    config_source = _spec(new).get("configSource")
    if old is None:
        if config_source is not None:
            return f"node {quoted} is not allowed to create pods with a non-nil configSource"
        labels = forbidden_labels(_labels(new), {})
        if labels:
            return f"node {quoted} is not allowed to set the following labels: " \
                   f"{', '.join(labels)}"
        return None
    if config_source is not None and config_source != _spec(old).get("configSource"):
        return f"node {quoted} is not allowed to update configSource to a new non-nil " \
               "configSource"
    if (_spec(new).get("taints") or []) != (_spec(old).get("taints") or []):
        return f"node {quoted} is not allowed to modify taints"
    labels = forbidden_labels(_labels(new), _labels(old))
    if labels:
        return f"is not allowed to modify labels: {', '.join(labels)}"
    return None


def mirror_pod_denial(node: str, pod: ObjectView,
                      node_uid: Callable[[str], str | None]) -> str | None:
    """admitPodCreate's checks after the mirror annotation and spec.nodeName: the owner
    reference (`node_uid(name)`: the Node's uid; None: no such Node, answered `NO_NODE`, the
    caller's NotFound) and what the pod may not refer to."""
    quoted = go_quote(node)
    owners = ((pod.get("metadata") or {}).get("ownerReferences")) or []
    if len(owners) > 1:
        return f"node {quoted} can only create pods with a single owner reference set to itself"
    if not owners:
        return f"node {quoted} can only create pods with an owner reference set to itself"
    owner = owners[0]
    if (owner.get("apiVersion"), owner.get("kind"), owner.get("name")) != ("v1", "Node", node):
        return f"node {quoted} can only create pods with an owner reference set to itself"
    if owner.get("controller") is not True:
        return (f"node {quoted} can only create pods with a controller owner reference set to "
                "itself")
    if owner.get("blockOwnerDeletion") is True:
        return f"node {quoted} must not set blockOwnerDeletion on an owner reference"
    uid = node_uid(node)
    if uid is None:
        return NO_NODE
    if owner.get("uid") != uid:
        return f"node {node} UID mismatch: expected {owner.get('uid') or ''} got {uid}"
    return _reference_denial(quoted, pod)


def _reference_denial(quoted: str, pod: ObjectView) -> str | None:
    spec = _spec(pod)
    if spec.get("serviceAccountName"):
        return f"node {quoted} can not create pods that reference a service account"
    refs = pod_references(pod)
    if refs["secret"]:
        return f"node {quoted} can not create pods that reference secrets"
    if refs["configmap"]:
        return f"node {quoted} can not create pods that reference configmaps"
    for volume in spec.get("volumes") or []:
        for source in (volume.get("projected") or {}).get("sources") or []:
            if source.get("clusterTrustBundle") is not None:
                return f"node {quoted} can not create pods that reference clustertrustbundles"
    if any(volume.get("persistentVolumeClaim") is not None
           for volume in spec.get("volumes") or []):
        return f"node {quoted} can not create pods that reference persistentvolumeclaims"
    return None
