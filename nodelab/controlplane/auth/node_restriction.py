"""What a node's credentials may do: upstream's Node authorizer, then NodeRestriction.

A kubelet authenticates as `system:node:<name>` (group `system:nodes`). Upstream lets it
(plugin/pkg/auth/authorizer/node, plugin/pkg/admission/noderestriction, the `system:node` role):

- read its own Node only (`get`, or `list`/`watch` with the fieldSelector
  `metadata.name=<node>`), pods only with the fieldSelector `spec.nodeName=<node>` or one at a
  time when bound to it (AuthorizeNodeWithSelectors, on by default since 1.32), and of the rest
  what the `system:node` rules grant (`NODE_READS`: services for its pods' environment, `get`
  endpoints, its CSRs, runtimeClasses, CSI objects; no Deployments, namespaces, RBAC objects or
  endpointSlices); a secret or configMap only one object at a time, in its namespace
  (`get` by name, or `list`/`watch` with the fieldSelector `metadata.name=<name>`, which the
  request's attributes carry as its name: how the kubelet's configMap and secret managers
  watch), a persistentVolumeClaim only by `get`, and only when a pod bound to the node refers
  to it (the authorizer's graph, `kube/pod/references.py`), a persistentVolume only by `get`
  and only when such a claim is bound to it (the graph's pvc -> pv edge); a serviceAccount
  only through its `token`;
- write its own Node (and status) and its own Lease in `kube-node-lease`, never another's, and
  never by naming another in the URL while putting its own name in the body (the URL wins);
- create only mirror pods bound to itself, owned by its Node and referring to no other object
  (`node_object_admission.py`, with the checks of its own Node's labels and taints, which
  need the object as the write leaves it); update/patch only the `status` of pods bound to it;
  delete and evict pods bound to it; never `deletecollection`;
- create tokens only for a service account a pod bound to it uses, bound (`boundObjectRef`)
  to a pod bound to it, named with its uid;
- create events, and CertificateSigningRequests (approving is someone else's);
- create TokenReviews and SubjectAccessReviews (how the kubelet authenticates and authorizes
  requests to its own port 10250), never the Node's subresources (`nodes/proxy`, ...);
- nothing through `exec`, `attach`, `portforward` or `proxy`: those are authorized as `create`
  on the subresource (an upgrade is not a read), which no node is granted.

`node_denial` returns why a request is refused (None: allowed), and which of the two refused
it, with that one's text: the authorizer's reason (`no relationship found between node 'n1'
and this object`, often none), which kube-apiserver appends to `User "system:node:n1" cannot
get resource ...`; or the admission plugin's error (`node "n1" is not allowed to modify node
"n2"`), which follows `nodes "n2" is forbidden: `. It is pure: the pods it needs come through a
`PodLookup`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from nodelab.controlplane.auth.node_object_admission import NO_NODE, mirror_pod_denial
from nodelab.kube.objects import ObjectView
from nodelab.kube.pod.critical import MIRROR_ANNOTATION
from nodelab.kubewire.go_quote import go_quote

READ_VERBS = ("get", "list", "watch")
GRAPH_RESOURCES = {"core/secrets": "secret", "core/configmaps": "configmap",
                   "core/persistentvolumeclaims": "persistentvolumeclaim",
                   "core/serviceaccounts": "serviceaccount"}
# the reads of upstream's `system:node` rules (bootstrappolicy.NodeRules) the Node authorizer
# checks for what it does not subdivide (nodes, pods, leases and its graph's kinds are above):
# services for the kubelet's environment variables, endpoints (glusterfs), its own CSRs
NODE_READS: dict[str, tuple[str, ...]] = {
    "core/services": READ_VERBS,
    "core/endpoints": ("get",),
    "certificates.k8s.io/certificatesigningrequests": READ_VERBS,
    "storage.k8s.io/volumeattachments": ("get",),
    "storage.k8s.io/csinodes": ("get",),
    "storage.k8s.io/csidrivers": READ_VERBS,
    "node.k8s.io/runtimeclasses": READ_VERBS,
}
REVIEWS = ("authentication.k8s.io/tokenreviews", "authorization.k8s.io/subjectaccessreviews",
           "authorization.k8s.io/localsubjectaccessreviews")


@dataclass(frozen=True)
class Denial:
    """Who refused a node's request and why: the Node `authorizer` (its reason, maybe empty),
    the NodeRestriction `admission` plugin (its error), or `missing`: the pod admission looks
    up (named in `reason`) is not there, and its NotFound goes back as is."""

    stage: Literal["authorizer", "admission", "missing"]
    reason: str = ""
    missing: str = "pods"  # the resource of the object `missing` names


@dataclass(frozen=True)
class PodLookup:
    """How the rule finds pods: one by name, and what those bound to a node in a namespace
    refer to (`kube/pod/references.py`: kind -> names), the edges of upstream's graph;
    `volumes`: the PersistentVolumes the claims of a node's pods are bound to."""

    get: Callable[[str, str], ObjectView | None]
    references: Callable[[str, str], Iterable[Mapping[str, Collection[str]]]]  # (ns, node)
    volumes: Callable[[str], Collection[str]] = lambda node: ()
    node: Callable[[str], ObjectView | None] = lambda name: None  # a Node by name


def _bound_to(pod: ObjectView | None, node: str) -> bool:
    return pod is not None and (pod.get("spec") or {}).get("nodeName") == node


def _authorizer(reason: str = "") -> Denial:
    return Denial("authorizer", reason)


def _admission(reason: str) -> Denial:
    return Denial("admission", reason)


def _unrelated(node: str) -> Denial:
    return _authorizer(f"no relationship found between node '{node}' and this object")


def _related(node: str, kind: str, namespace: str, name: str, pods: PodLookup) -> bool:
    return any(name in refs[kind] for refs in pods.references(namespace, node))


def _graph_denial(node: str, verb: str, resource: str, namespace: str, name: str,
                  subresource: str, pods: PodLookup) -> Denial | None:
    """The authorizer's graph resources (authorizeReadNamespacedObject, authorizeGet,
    authorizeCreateToken): only objects a pod bound to the node refers to."""
    kind = GRAPH_RESOURCES[resource]
    if kind == "serviceaccount":
        if verb != "create" or not name:
            return _authorizer("can only create tokens for individual service accounts")
        if subresource != "token":
            return _authorizer("can only create token subresource of serviceaccount")
    elif kind == "persistentvolumeclaim":
        if verb != "get":
            return _authorizer("can only get individual resources of this type")
        if subresource:
            return _authorizer("cannot get subresource")
    else:
        if verb not in READ_VERBS:
            return _authorizer("can only read resources of this type")
        if subresource:
            return _authorizer("cannot read subresource")
        if not namespace:
            return _authorizer("can only read namespaced object of this type")
        if not name:
            return _authorizer("No Object name found")
    return None if _related(node, kind, namespace, name, pods) else _unrelated(node)


def _token_denial(node: str, namespace: str, body: ObjectView | None,
                  pods: PodLookup) -> Denial | None:
    """NodeRestriction's admitServiceAccount: a token bound to a pod on this node."""
    ref = ((body or {}).get("spec") or {}).get("boundObjectRef") or {}
    if ref.get("apiVersion") != "v1" or ref.get("kind") != "Pod" or not ref.get("name"):
        return _admission("node requested token not bound to a pod")
    if not ref.get("uid"):
        return _admission("node requested token with a pod binding without a uid")
    pod = pods.get(namespace, str(ref["name"]))
    if pod is None:
        return Denial("missing", str(ref["name"]))
    if ref["uid"] != (pod.get("metadata") or {}).get("uid"):
        return _admission(f"the UID in the bound object reference ({ref['uid']}) does not match "
                          "the UID in record. The object might have been deleted and then "
                          "recreated")
    if not _bound_to(pod, node):
        return _admission("node requested token bound to a pod scheduled on a different node")
    return None


def node_denial(node: str, verb: str, resource: str, namespace: str, name: str,
                subresource: str, body: ObjectView | None, pods: PodLookup,
                admission: bool = True, node_selector: str = "",
                rbac_allows: Callable[[], bool] = lambda: False) -> Denial | None:
    """Why node `node` may not do this (None: it may). `name` is the URL's (empty on create)
    or the `metadata.name` a list or watch's fieldSelector pins; `node_selector` the
    `spec.nodeName` it pins; `admission=False` asks the authorizers alone (an access review).
    `rbac_allows` is the next authorizer of the chain (`--authorization-mode=Node,RBAC`),
    asked when the Node authorizer has no opinion: RBAC's grants to the node or `system:nodes`;
    NodeRestriction still judges what either allowed."""
    denial = _node_authorizer(node, verb, resource, namespace, name, subresource,
                              node_selector, pods)
    if denial is not None and not rbac_allows():
        return denial
    if not admission or verb in READ_VERBS:
        return None  # admission plugins see writes only
    if resource == "core/serviceaccounts":
        return _token_denial(node, namespace, body, pods) if subresource == "token" else None
    body_name = str(((body or {}).get("metadata") or {}).get("name") or "")
    target = name or (body_name if verb == "create" else "")
    if resource == "core/nodes" and target != node:
        return _admission(f"node {go_quote(node)} is not allowed to modify node "
                          f"{go_quote(target)}")
    if resource == "coordination.k8s.io/leases" and target != node:
        return _admission("can only access node lease with the same name as the requesting node")
    if resource == "core/pods":
        return _pod_admission(node, verb, namespace, name, subresource, body, pods)
    return None


def _node_authorizer(node: str, verb: str, resource: str, namespace: str, name: str,
                     subresource: str, node_selector: str, pods: PodLookup) -> Denial | None:
    """The Node authorizer alone: its graph, its reads, its writes."""
    if resource in GRAPH_RESOURCES:
        return _graph_denial(node, verb, resource, namespace, name, subresource, pods)
    if resource == "core/persistentvolumes":  # authorizeGet on the pvc -> pv edge
        if verb != "get":
            return _authorizer("can only get individual resources of this type")
        if subresource:
            return _authorizer("cannot get subresource")
        return None if name in pods.volumes(node) else _unrelated(node)
    if verb in READ_VERBS and not subresource and resource != "coordination.k8s.io/leases":
        return _read_denial(node, verb, resource, namespace, name, node_selector, pods)
    return _authorizer_denial(node, verb, resource, namespace, name, subresource)


def _read_denial(node: str, verb: str, resource: str, namespace: str, name: str,
                 node_selector: str, pods: PodLookup) -> Denial | None:
    """The Node authorizer's reads (AuthorizeNodeWithSelectors, on by default since 1.32):
    its own Node only, pods only through the `spec.nodeName=<node>` selector or one at a time
    when bound to it, the rest as the `system:node` rules (`NODE_READS`) say."""
    if resource == "core/nodes":
        if name == node:
            return None
        if not name:
            return _authorizer(f"node '{node}' cannot read all nodes, only its own Node object")
        return _authorizer(f"node '{node}' cannot read '{name}', only its own Node object")
    if resource == "core/pods":
        if verb != "get" and node_selector == node:
            return None
        if not name:
            return _authorizer("can only list/watch pods with spec.nodeName field selector")
        # the graph's pod vertices are the pods bound to a node (authorizeGet, authorize)
        return None if _bound_to(pods.get(namespace, name), node) else _unrelated(node)
    return None if verb in NODE_READS.get(resource, ()) else _authorizer()


def _authorizer_denial(node: str, verb: str, resource: str, namespace: str, name: str,
                       subresource: str) -> Denial | None:
    """The Node authorizer's answer to a write (authorizeNode, authorizeLease, authorizePod,
    then the `system:node` rules): the writes a kubelet makes, with no opinion (and no
    reason) on the rest."""
    if resource == "core/nodes":
        allowed = (subresource == "" and verb in ("create", "update", "patch", "delete")) or (
            subresource == "status" and verb in ("update", "patch"))
        return None if allowed else _authorizer()
    if resource == "coordination.k8s.io/leases":
        if verb not in ("get", "create", "update", "patch", "delete"):
            return _authorizer("can only get, create, update, patch, or delete a node lease")
        if namespace != "kube-node-lease":
            return _authorizer('can only access leases in the "kube-node-lease" system '
                               "namespace")
        if verb != "create" and name != node:
            return _authorizer("can only access node lease with the same name as the "
                               "requesting node")
        return None
    if resource == "core/pods":
        pod_writes = {("create", ""), ("delete", ""), ("update", "status"), ("patch", "status"),
                      ("create", "eviction")}
        return None if (verb, subresource) in pod_writes else _authorizer()
    if resource == "core/events" and verb in ("create", "update", "patch"):
        return None
    if resource in REVIEWS and verb == "create":
        return None  # the kubelet's webhook authentication and authorization of :10250
    if resource == "certificates.k8s.io/certificatesigningrequests" and verb == "create" \
            and not subresource:
        return None
    return _authorizer()


def _pod_admission(node: str, verb: str, namespace: str, name: str, subresource: str,
                   body: ObjectView | None, pods: PodLookup) -> Denial | None:
    """NodeRestriction's admitPod, admitPodStatus and admitPodEviction."""
    if verb == "create" and not subresource:
        metadata = (body or {}).get("metadata") or {}
        if MIRROR_ANNOTATION not in (metadata.get("annotations") or {}):
            return _admission(f"pod does not have {go_quote(MIRROR_ANNOTATION)} annotation, "
                              f"node {go_quote(node)} can only create mirror pods")
        if ((body or {}).get("spec") or {}).get("nodeName") != node:
            return _admission(f"node {go_quote(node)} can only create pods with spec.nodeName "
                              "set to itself")
        why = mirror_pod_denial(node, body or {}, lambda name: None if (
            found := pods.node(name)) is None else str((found.get("metadata") or {}).get("uid")))
        if why == NO_NODE:
            return Denial("missing", node, "nodes")
        return None if why is None else _admission(why)
    if not subresource and verb != "delete":  # an update RBAC let through
        return _admission(f"unexpected operation {go_quote(verb.upper())}, node "
                          f"{go_quote(node)} can only create and delete mirror pods")
    if subresource == "eviction" and not name:
        name = str(((body or {}).get("metadata") or {}).get("name") or "")
        if not name:
            return _admission("could not determine pod from request data")
    pod = pods.get(namespace, name)
    if pod is None:
        return Denial("missing", name)
    if _bound_to(pod, node):
        return None
    if subresource == "eviction":
        return _admission(f"node {node} can only evict pods with spec.nodeName set to itself")
    if subresource == "status":
        return _admission(f"node {go_quote(node)} can only update pod status for pods with "
                          "spec.nodeName set to itself")
    return _admission(f"node {go_quote(node)} can only delete pods with spec.nodeName set to "
                      "itself")
