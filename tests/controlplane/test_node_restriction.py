"""A node identity's refusals, each from the stage upstream refuses it in and with its text:
the Node authorizer's reason (plugin/pkg/auth/authorizer/node) or NodeRestriction's error
(plugin/pkg/admission/noderestriction)."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.auth.node_restriction import Denial, PodLookup, node_denial
from nodelab.kube.pod.references import pod_references

pytestmark = pytest.mark.unit

PODS: dict[tuple[str, str], dict[str, Any]] = {
    ("default", "mine"): {"metadata": {"name": "mine", "uid": "u-mine"},
                          "spec": {"nodeName": "n1", "serviceAccountName": "app",
                                   "volumes": [{"name": "v", "secret": {"secretName": "s1"}}]}},
    ("default", "theirs"): {"metadata": {"name": "theirs", "uid": "u-theirs"},
                            "spec": {"nodeName": "n2"}},
}
LOOKUP = PodLookup(
    get=lambda ns, name: PODS.get((ns, name)),
    references=lambda ns, node: [pod_references(p) for (n, _), p in PODS.items()
                                 if n == ns and p["spec"]["nodeName"] == node],
    volumes=lambda node: {"pv-mine"} if node == "n1" else set(),
    node=lambda name: {"metadata": {"name": name, "uid": f"uid-{name}"}} if name == "n1"
    else None)
MIRROR = {"metadata": {"name": "static-n1", "annotations": {"kubernetes.io/config.mirror": "x"},
                       "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "n1",
                                            "uid": "uid-n1", "controller": True}]},
          "spec": {"nodeName": "n1"}}
UNRELATED = Denial("authorizer", "no relationship found between node 'n1' and this object")


def token(name: str = "mine", uid: str = "u-mine", **ref: Any) -> dict[str, Any]:
    return {"spec": {"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": name,
                                        "uid": uid, **ref}}}


@pytest.mark.parametrize(("request_", "denial"), [
    # the authorizer's graph: secrets and configmaps its pods use, by name
    (("get", "core/secrets", "default", "s1", "", None), None),
    (("get", "core/secrets", "default", "s2", "", None), UNRELATED),
    (("watch", "core/secrets", "default", "s1", "", None), None),  # metadata.name=s1
    (("list", "core/secrets", "default", "", "", None),
     Denial("authorizer", "No Object name found")),
    (("create", "core/configmaps", "default", "", "", None),
     Denial("authorizer", "can only read resources of this type")),
    (("deletecollection", "core/secrets", "default", "", "", None),
     Denial("authorizer", "can only read resources of this type")),
    (("list", "core/persistentvolumeclaims", "default", "", "", None),
     Denial("authorizer", "can only get individual resources of this type")),
    # a volume only through a claim of its pods bound to it (the pvc -> pv edge)
    (("get", "core/persistentvolumes", "", "pv-mine", "", None), None),
    (("get", "core/persistentvolumes", "", "pv-other", "", None), UNRELATED),
    (("list", "core/persistentvolumes", "", "", "", None),
     Denial("authorizer", "can only get individual resources of this type")),
    (("get", "core/serviceaccounts", "default", "app", "", None),
     Denial("authorizer", "can only create tokens for individual service accounts")),
    # tokens: the authorizer (a service account its pods use), then NodeRestriction
    (("create", "core/serviceaccounts", "default", "app", "token", token()), None),
    (("create", "core/serviceaccounts", "default", "other", "token", token()), UNRELATED),
    (("create", "core/serviceaccounts", "default", "app", "token", {"spec": {}}),
     Denial("admission", "node requested token not bound to a pod")),
    (("create", "core/serviceaccounts", "default", "app", "token", token(uid="")),
     Denial("admission", "node requested token with a pod binding without a uid")),
    (("create", "core/serviceaccounts", "default", "app", "token", token(uid="old")),
     Denial("admission", "the UID in the bound object reference (old) does not match the UID "
            "in record. The object might have been deleted and then recreated")),
    (("create", "core/serviceaccounts", "default", "app", "token",
      token("theirs", "u-theirs")),
     Denial("admission", "node requested token bound to a pod scheduled on a different node")),
    (("create", "core/serviceaccounts", "default", "app", "token", token("gone")),
     Denial("missing", "gone")),
    # nodes: the authorizer allows the writes, NodeRestriction names the node
    (("patch", "core/nodes", "", "n1", "status", None), None),
    (("patch", "core/nodes", "", "n2", "", None),
     Denial("admission", 'node "n1" is not allowed to modify node "n2"')),
    (("create", "core/nodes", "", "", "", {"metadata": {"name": "n2"}}),
     Denial("admission", 'node "n1" is not allowed to modify node "n2"')),
    (("update", "core/nodes", "", "n1", "proxy", None), Denial("authorizer")),
    # leases
    (("update", "coordination.k8s.io/leases", "kube-node-lease", "n1", "", None), None),
    (("update", "coordination.k8s.io/leases", "kube-node-lease", "n2", "", None),
     Denial("authorizer", "can only access node lease with the same name as the requesting "
            "node")),
    (("create", "coordination.k8s.io/leases", "kube-node-lease", "", "",
      {"metadata": {"name": "n2"}}),
     Denial("admission", "can only access node lease with the same name as the requesting "
            "node")),
    (("get", "coordination.k8s.io/leases", "default", "n1", "", None),
     Denial("authorizer", 'can only access leases in the "kube-node-lease" system namespace')),
    (("list", "coordination.k8s.io/leases", "kube-node-lease", "", "", None),
     Denial("authorizer", "can only get, create, update, patch, or delete a node lease")),
    # pods
    (("create", "core/pods", "default", "", "", {"metadata": {"name": "p"},
                                                "spec": {"nodeName": "n1"}}),
     Denial("admission", 'pod does not have "kubernetes.io/config.mirror" annotation, node '
            '"n1" can only create mirror pods')),
    (("create", "core/pods", "default", "", "", {
        "metadata": {"name": "p", "annotations": {"kubernetes.io/config.mirror": "x"}},
        "spec": {"nodeName": "n2"}}),
     Denial("admission", 'node "n1" can only create pods with spec.nodeName set to itself')),
    (("create", "core/pods", "default", "", "", MIRROR), None),
    (("create", "core/pods", "default", "", "", {
        **MIRROR, "spec": {"nodeName": "n1",
                           "volumes": [{"name": "v", "secret": {"secretName": "s"}}]}}),
     Denial("admission", 'node "n1" can not create pods that reference secrets')),
    (("patch", "core/pods", "default", "mine", "status", None), None),
    (("patch", "core/pods", "default", "theirs", "status", None),
     Denial("admission", 'node "n1" can only update pod status for pods with spec.nodeName '
            "set to itself")),
    (("delete", "core/pods", "default", "theirs", "", None),
     Denial("admission", 'node "n1" can only delete pods with spec.nodeName set to itself')),
    (("delete", "core/pods", "default", "gone", "", None), Denial("missing", "gone")),
    (("create", "core/pods", "default", "theirs", "eviction", None),
     Denial("admission", "node n1 can only evict pods with spec.nodeName set to itself")),
    (("update", "core/pods", "default", "mine", "", None), Denial("authorizer")),
    (("create", "core/pods", "default", "mine", "exec", None), Denial("authorizer")),
    (("get", "core/pods", "default", "mine", "log", None), Denial("authorizer")),
    (("deletecollection", "core/pods", "default", "", "", None), Denial("authorizer")),
    # the rest: the system:node rules, no reason
    (("create", "core/events", "default", "", "", None), None),
    (("delete", "core/events", "default", "e", "", None), Denial("authorizer")),
    (("create", "apps/deployments", "default", "", "", None), Denial("authorizer")),
    (("get", "apps/deployments", "default", "d", "", None), Denial("authorizer")),
])
def test_each_refusal_comes_from_its_stage_with_upstreams_text(
        request_: tuple[str, str, str, str, str, dict[str, Any] | None],
        denial: Denial | None) -> None:
    verb, resource, namespace, name, subresource, body = request_
    assert node_denial("n1", verb, resource, namespace, name, subresource, body,
                       LOOKUP) == denial


ALL_NODES = Denial("authorizer", "node 'n1' cannot read all nodes, only its own Node object")
POD_SELECTOR = Denial("authorizer", "can only list/watch pods with spec.nodeName field selector")


@pytest.mark.parametrize(("read", "denial"), [
    # nodes: its own only (a list or watch names it with fieldSelector metadata.name=n1)
    (("get", "core/nodes", "", "n1", ""), None),
    (("watch", "core/nodes", "", "n1", ""), None),
    (("get", "core/nodes", "", "n2", ""),
     Denial("authorizer", "node 'n1' cannot read 'n2', only its own Node object")),
    (("list", "core/nodes", "", "", ""), ALL_NODES),
    (("watch", "core/nodes", "", "", "n1"), ALL_NODES),  # spec.nodeName says nothing here
    # pods: lists and watches of its own, one pod bound to it
    (("list", "core/pods", "", "", "n1"), None),
    (("watch", "core/pods", "default", "", "n1"), None),
    (("list", "core/pods", "", "", ""), POD_SELECTOR),
    (("watch", "core/pods", "default", "", "n2"), POD_SELECTOR),
    (("get", "core/pods", "default", "mine", ""), None),
    (("list", "core/pods", "default", "mine", ""), None),  # metadata.name=mine
    (("get", "core/pods", "default", "theirs", ""), UNRELATED),
    (("get", "core/pods", "default", "gone", ""), UNRELATED),
    (("get", "core/pods", "default", "theirs", "n1"), UNRELATED),  # a get has no selector
    # the rest: the system:node rules (services for env vars, its CSRs), nothing else
    (("list", "core/services", "", "", ""), None),
    (("get", "core/services", "default", "kubernetes", ""), None),
    (("get", "core/endpoints", "default", "kubernetes", ""), None),
    (("list", "core/endpoints", "", "", ""), Denial("authorizer")),
    (("watch", "certificates.k8s.io/certificatesigningrequests", "", "csr-1", ""), None),
    (("list", "apps/deployments", "", "", ""), Denial("authorizer")),
    (("list", "rbac.authorization.k8s.io/clusterroles", "", "", ""), Denial("authorizer")),
    (("get", "core/namespaces", "", "default", ""), Denial("authorizer")),
    (("list", "discovery.k8s.io/endpointslices", "", "", ""), Denial("authorizer")),
])
def test_a_node_reads_its_own_node_its_pods_and_what_system_node_grants(
        read: tuple[str, str, str, str, str], denial: Denial | None) -> None:
    """AuthorizeNodeWithSelectors (on by default since 1.32): `kubectl get nodes` or
    `get pods -A` with a kubelet's credentials is refused with upstream's texts."""
    verb, resource, namespace, name, node_selector = read
    assert node_denial("n1", verb, resource, namespace, name, "", None, LOOKUP,
                       node_selector=node_selector) == denial


def test_an_access_review_asks_the_authorizer_alone() -> None:
    """`kubectl auth can-i patch nodes/n2` as node n1: the Node authorizer allows the patch
    (NodeRestriction, an admission plugin, refuses it when it is made)."""
    assert node_denial("n1", "patch", "core/nodes", "", "n2", "", None, LOOKUP,
                       admission=False) is None
    assert node_denial("n1", "get", "core/secrets", "default", "s2", "", None, LOOKUP,
                       admission=False) == UNRELATED


@pytest.mark.parametrize(("request_", "denial"), [
    (("list", "apps/deployments", "default", "", "", None), None),
    (("get", "core/nodes", "", "n2", "", None), None),
    (("update", "core/pods", "default", "mine", "", None),
     Denial("admission", 'unexpected operation "UPDATE", node "n1" can only create and delete '
            "mirror pods")),
    (("patch", "core/nodes", "", "n2", "", None),
     Denial("admission", 'node "n1" is not allowed to modify node "n2"')),
    (("create", "core/serviceaccounts", "default", "other", "token",
      token("theirs", "u-theirs")),
     Denial("admission", "node requested token bound to a pod scheduled on a different node")),
])
def test_rbac_after_the_node_authorizer_and_noderestriction_after_both(
        request_: tuple[str, str, str, str, str, dict[str, Any] | None],
        denial: Denial | None) -> None:
    """`--authorization-mode=Node,RBAC`: what the Node authorizer has no opinion on, a Role
    bound to the node (or `system:nodes`) may grant; NodeRestriction still judges the write."""
    verb, resource, namespace, name, subresource, body = request_
    assert node_denial("n1", verb, resource, namespace, name, subresource, body, LOOKUP,
                       rbac_allows=lambda: True) == denial


def test_a_mirror_pod_of_a_node_without_its_node_object_is_not_found() -> None:
    lookup = PodLookup(get=LOOKUP.get, references=LOOKUP.references)  # no Node at all
    assert node_denial("n1", "create", "core/pods", "default", "", "", MIRROR, lookup) == \
        Denial("missing", "n1", "nodes")
