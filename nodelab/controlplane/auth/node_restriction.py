"""What a node's credentials may do: upstream's Node authorizer and NodeRestriction, as one rule.

A kubelet authenticates as `system:node:<name>` (group `system:nodes`). Upstream lets it
(plugin/pkg/auth/authorizer/node, plugin/pkg/admission/noderestriction, the `system:node` role):

- read what every node needs: nodes, pods, services, endpoints(lices), namespaces, ...; but a
  secret, configMap, persistentVolumeClaim or serviceAccount only one object at a time, in its
  namespace (`get` by name, or `list`/`watch` with the fieldSelector `metadata.name=<name>`,
  which the request's attributes carry as its name: how the kubelet's configMap and secret
  managers watch), and only when a pod bound to the node refers to it (the authorizer's graph,
  `kube/pod_references.py`); never a list or watch of more than that one object;
- write its own Node (and status) and its own Lease in `kube-node-lease`, never another's, and
  never by naming another in the URL while putting its own name in the body (the URL wins);
- create only mirror pods bound to itself; update/patch only the `status` of pods bound to it;
  delete and evict pods bound to it; never `deletecollection`;
- create tokens only for the service account of a pod bound to it, bound (`boundObjectRef`)
  to that very pod (uid checked when given);
- create events, and CertificateSigningRequests (approving is someone else's);
- create TokenReviews and SubjectAccessReviews (how the kubelet authenticates and authorizes
  requests to its own port 10250), never the Node's subresources (`nodes/proxy`, ...);
- nothing through `exec`, `attach`, `portforward` or `proxy`: those are authorized as `create`
  on the subresource (an upgrade is not a read), which no node is granted.

`node_denial` returns why a request is refused (None: allowed). It is pure: the pods it needs
come through a `PodLookup`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nodelab.kube.objects import ObjectView
from nodelab.kube.pod_references import pod_references

READ_VERBS = ("get", "list", "watch")
GRAPH_RESOURCES = {"core/secrets": "secret", "core/configmaps": "configmap",
                   "core/persistentvolumeclaims": "persistentvolumeclaim",
                   "core/serviceaccounts": "serviceaccount"}
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
REVIEWS = ("authentication.k8s.io/tokenreviews", "authorization.k8s.io/subjectaccessreviews",
           "authorization.k8s.io/localsubjectaccessreviews")


@dataclass(frozen=True)
class PodLookup:
    """How the rule finds pods: one by name, and those bound to a node in a namespace."""

    get: Callable[[str, str], ObjectView | None]
    bound: Callable[[str, str], Sequence[ObjectView]]  # (namespace, node) -> pods


def _bound_to(pod: ObjectView | None, node: str) -> bool:
    return pod is not None and (pod.get("spec") or {}).get("nodeName") == node


def _token_denial(node: str, namespace: str, account: str, body: ObjectView | None,
                  pods: PodLookup) -> str | None:
    ref = ((body or {}).get("spec") or {}).get("boundObjectRef") or {}
    if ref.get("kind") != "Pod" or not ref.get("name"):
        return f"node {node!r} can only create tokens bound to a pod (spec.boundObjectRef)"
    pod = pods.get(namespace, str(ref["name"]))
    if not _bound_to(pod, node):
        return (f"node {node!r} can only create tokens for pods bound to it; pod "
                f"{namespace}/{ref['name']} is not")
    assert pod is not None
    if ref.get("uid") and ref["uid"] != (pod.get("metadata") or {}).get("uid"):
        return f"the uid in boundObjectRef does not match pod {namespace}/{ref['name']}"
    if ((pod.get("spec") or {}).get("serviceAccountName") or "default") != account:
        return (f"node {node!r} can only create tokens for the service account of pod "
                f"{namespace}/{ref['name']}, not {account!r}")
    return None


def node_denial(node: str, verb: str, resource: str, namespace: str, name: str,
                subresource: str, body: ObjectView | None, pods: PodLookup) -> str | None:
    """Why node `node` may not do this (None: it may). `name` is the URL's (empty on create)."""
    body_name = str(((body or {}).get("metadata") or {}).get("name") or "")
    target = name or (body_name if verb == "create" else "")
    if verb in READ_VERBS and not subresource:
        if resource not in GRAPH_RESOURCES:
            return None
        kind = GRAPH_RESOURCES[resource]
        if not name or not namespace:  # upstream's authorizeReadNamespacedObject
            return f"node {node!r} may not {verb} {kind}s: only get those its pods use"
        if any(name in pod_references(pod)[kind] for pod in pods.bound(namespace, node)):
            return None
        return f"no relationship found between node {node!r} and this object"
    if verb == "deletecollection":
        return f"node {node!r} may not delete collections"
    if resource == "core/nodes":
        if subresource not in ("", "status"):
            return f"node {node!r} may not {verb} nodes/{subresource}"
        if target != node:
            return f"node {node!r} is not allowed to modify node {target or '(unnamed)'!r}"
        return None
    if resource == "coordination.k8s.io/leases":
        if namespace != "kube-node-lease" or target != node:
            return "can only access node lease with the same name as the requesting node"
        return None
    if resource == "core/events" and verb in ("create", "update", "patch"):
        return None
    if resource in REVIEWS and verb == "create":
        return None  # the kubelet's webhook authentication and authorization of :10250
    if resource == "certificates.k8s.io/certificatesigningrequests":
        return None if verb == "create" and not subresource else (
            f"node {node!r} may not {verb} certificatesigningrequests"
            + (f"/{subresource}" if subresource else ""))
    if resource == "core/serviceaccounts" and subresource == "token" and verb == "create":
        return _token_denial(node, namespace, name, body, pods)
    if resource == "core/pods":
        return _pod_denial(node, verb, namespace, name, subresource, body, pods)
    what = resource.split("/")[-1] + (f"/{subresource}" if subresource else "")
    return f"node {node!r} may not {verb} {what}"


def _pod_denial(node: str, verb: str, namespace: str, name: str, subresource: str,
                body: ObjectView | None, pods: PodLookup) -> str | None:
    if verb == "create" and not subresource:
        metadata = (body or {}).get("metadata") or {}
        if ((body or {}).get("spec") or {}).get("nodeName") != node:
            return f"node {node!r} can only create pods with spec.nodeName set to itself"
        if MIRROR_ANNOTATION not in (metadata.get("annotations") or {}):
            return f"pod does not have {MIRROR_ANNOTATION!r} annotation, node {node!r} can only "\
                "create mirror pods"
        return None
    allowed = {("update", "status"), ("patch", "status"), ("delete", ""),
               ("create", "eviction")}
    if (verb, subresource) not in allowed:
        what = "pods" + (f"/{subresource}" if subresource else "")
        return f"node {node!r} may not {verb} {what}"
    if not _bound_to(pods.get(namespace, name), node):
        return f"node {node!r} can only modify pods bound to it"
    return None
