"""NodeRestriction's checks of a node's own Node and of the mirror pods it creates
(auth/node_object_admission.py), as upstream's admitNode and admitPodCreate."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.auth.node_object_admission import (
    NO_NODE,
    forbidden_labels,
    mirror_pod_denial,
    node_denial,
)

pytestmark = pytest.mark.unit


def node(labels: dict[str, str] | None = None, taints: list[dict[str, str]] | None = None,
         **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": "n1", "labels": labels or {}}, "spec": spec}
    if taints is not None:
        body["spec"]["taints"] = taints
    return body


@pytest.mark.parametrize(("new", "old", "labels"), [
    ({"kubernetes.io/hostname": "n1", "kubernetes.io/os": "linux", "beta.kubernetes.io/arch":
      "amd64", "topology.kubernetes.io/zone": "a", "node.kubernetes.io/instance-type": "x",
      "kubelet.kubernetes.io/x": "1", "a.node.kubernetes.io/y": "2", "team": "blue",
      "example.com/role": "db"}, {}, []),
    ({"node-role.kubernetes.io/worker": "", "node-restriction.kubernetes.io/pool": "a",
      "x.k8s.io/y": "1", "kubernetes.io/role": "r"}, {},
     ["kubernetes.io/role", "node-restriction.kubernetes.io/pool",
      "node-role.kubernetes.io/worker", "x.k8s.io/y"]),
    ({"node-role.kubernetes.io/worker": ""}, {"node-role.kubernetes.io/worker": ""}, []),
    ({}, {"node-role.kubernetes.io/worker": ""}, ["node-role.kubernetes.io/worker"]),
    ({"a.node-restriction.kubernetes.io/b": "2"}, {"a.node-restriction.kubernetes.io/b": "1"},
     ["a.node-restriction.kubernetes.io/b"]),
])
def test_forbidden_labels(new: dict[str, str], old: dict[str, str],
                          labels: list[str]) -> None:
    assert forbidden_labels(new, old) == labels


TAINT = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}


@pytest.mark.parametrize(("new", "old", "why"), [
    (node({"kubernetes.io/hostname": "n1"}, [TAINT]), None, None),  # registerWithTaints
    (node({"node-role.kubernetes.io/master": ""}), None,
     'node "n1" is not allowed to set the following labels: node-role.kubernetes.io/master'),
    (node(configSource={"configMap": {}}), None,
     'node "n1" is not allowed to create pods with a non-nil configSource'),
    (node({"team": "b"}, [TAINT]), node({"team": "a"}, [TAINT]), None),
    (node(taints=[]), node(), None),  # empty and absent are the same list
    (node(taints=[]), node(taints=[TAINT]), 'node "n1" is not allowed to modify taints'),
    (node(taints=[{**TAINT, "value": "web"}]), node(taints=[TAINT]),
     'node "n1" is not allowed to modify taints'),
    (node({"node-restriction.kubernetes.io/a": "x"}), node(),
     "is not allowed to modify labels: node-restriction.kubernetes.io/a"),
    (node(configSource={"configMap": {"name": "b"}}), node(configSource={"configMap": {}}),
     'node "n1" is not allowed to update configSource to a new non-nil configSource'),
    (node(), node(configSource={"configMap": {}}), None),  # an old kubelet drops the field
])
def test_node_denial(new: dict[str, Any], old: dict[str, Any] | None, why: str | None) -> None:
    assert node_denial("n1", new, old) == why


OWNER = {"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "uid-n1", "controller": True}


def mirror(owners: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "static-web-n1", "ownerReferences":
                         [OWNER] if owners is None else owners},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}],
                     **spec}}


@pytest.mark.parametrize(("pod", "why"), [
    (mirror(), None),
    (mirror([]), 'node "n1" can only create pods with an owner reference set to itself'),
    (mirror([OWNER, OWNER]),
     'node "n1" can only create pods with a single owner reference set to itself'),
    (mirror([{**OWNER, "name": "n2"}]),
     'node "n1" can only create pods with an owner reference set to itself'),
    (mirror([{**OWNER, "controller": False}]),
     'node "n1" can only create pods with a controller owner reference set to itself'),
    (mirror([{**OWNER, "blockOwnerDeletion": True}]),
     'node "n1" must not set blockOwnerDeletion on an owner reference'),
    (mirror([{**OWNER, "uid": "stale"}]), "node n1 UID mismatch: expected stale got uid-n1"),
    (mirror(serviceAccountName="app"),
     'node "n1" can not create pods that reference a service account'),
    (mirror(imagePullSecrets=[{"name": "pull"}]),
     'node "n1" can not create pods that reference secrets'),
    (mirror(volumes=[{"name": "v", "configMap": {"name": "c"}}]),
     'node "n1" can not create pods that reference configmaps'),
    (mirror(volumes=[{"name": "v", "projected": {"sources": [
        {"clusterTrustBundle": {"name": "b", "path": "p"}}]}}]),
     'node "n1" can not create pods that reference clustertrustbundles'),
    (mirror(volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "c"}}]),
     'node "n1" can not create pods that reference persistentvolumeclaims'),
])
def test_mirror_pod_denial(pod: dict[str, Any], why: str | None) -> None:
    assert mirror_pod_denial("n1", pod, lambda name: "uid-n1") == why


def test_a_mirror_pod_of_a_node_without_its_node_object() -> None:
    assert mirror_pod_denial("n1", mirror(), lambda name: None) == NO_NODE
