"""RBAC rule matching and role aggregation, as upstream's authorizer decides."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.auth import rbac
from nodelab.controlplane.auth.bootstrap_policy import CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES

pytestmark = pytest.mark.unit


class Objects:
    def __init__(self, **kinds: list[dict[str, Any]]) -> None:
        self.kinds = {f"rbac.authorization.k8s.io/{k}": v for k, v in kinds.items()}

    def select(self, kind: str, namespace: str | None = None
               ) -> tuple[list[dict[str, Any]], int]:
        items = self.kinds.get(kind, [])
        if namespace is not None:
            items = [i for i in items if i["metadata"].get("namespace", "") == namespace]
        return items, 1


def attributes(verb: str, resource: str = "", group: str = "", sub: str = "", name: str = "",
               namespace: str = "default", path: str = "", user: str = "u",
               groups: tuple[str, ...] = ("system:authenticated",)) -> rbac.Attributes:
    return rbac.Attributes(user, groups, verb, namespace, group, resource, sub, name, path)


RULE = {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "pods/log"],
        "resourceNames": []}


@pytest.mark.parametrize(("rule", "request_", "allowed"), [
    (RULE, attributes("get", "pods"), True),
    (RULE, attributes("create", "pods"), False),
    (RULE, attributes("get", "pods", sub="log"), True),
    (RULE, attributes("get", "pods", sub="exec"), False),
    (RULE, attributes("get", "deployments", "apps"), False),
    ({**RULE, "resourceNames": ["web"]}, attributes("get", "pods", name="web"), True),
    ({**RULE, "resourceNames": ["web"]}, attributes("get", "pods", name="db"), False),
    ({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*/scale"]},
     attributes("update", "deployments", "apps", "scale"), True),
    ({"verbs": ["get"], "nonResourceURLs": ["/api/*"]}, attributes("get", path="/api/v1"), True),
    ({"verbs": ["get"], "nonResourceURLs": ["/api"]}, attributes("get", path="/apis"), False),
])
def test_rule_matching(rule: dict[str, Any], request_: rbac.Attributes, allowed: bool) -> None:
    assert rbac.rule_allows(rule, request_) is allowed


def _binding(kind: str, name: str, role_kind: str, role: str, subject: dict[str, str],
             namespace: str = "") -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name, "namespace": namespace},
            "roleRef": {"kind": role_kind, "name": role}, "subjects": [subject]}


def test_bootstrap_policy_and_bindings() -> None:
    roles = [{**r, "metadata": {**r["metadata"], "namespace": ""}} for r in CLUSTER_ROLES]
    binding = _binding("RoleBinding", "b", "ClusterRole", "view",
                       {"kind": "ServiceAccount", "name": "default", "namespace": "default"},
                       "default")
    objects = Objects(clusterroles=roles, clusterrolebindings=CLUSTER_ROLE_BINDINGS,
                      rolebindings=[binding])
    sa = "system:serviceaccount:default:default"
    sa_groups = ("system:serviceaccounts", "system:authenticated")
    assert rbac.allows(objects, attributes("list", "pods", user=sa, groups=sa_groups))
    assert not rbac.allows(objects, attributes("create", "pods", user=sa, groups=sa_groups))
    assert not rbac.allows(objects, attributes("list", "pods", namespace="kube-system",
                                               user=sa, groups=sa_groups))
    assert not rbac.allows(objects, attributes("list", "secrets", user=sa, groups=sa_groups))
    assert rbac.allows(objects, attributes("create", "selfsubjectaccessreviews",
                                           "authorization.k8s.io", user=sa, groups=sa_groups))
    admin = attributes("delete", "nodes", namespace="", user="admin",
                       groups=("system:masters", "system:authenticated"))
    assert rbac.allows(objects, admin)
    proxy = attributes("watch", "endpointslices", "discovery.k8s.io", user="system:kube-proxy")
    assert rbac.allows(objects, proxy)
    # admin aggregates edit, which aggregates view
    admin_rules = rbac.cluster_role_rules(
        next(r for r in roles if r["metadata"]["name"] == "admin"), roles)
    assert any("rolebindings" in r.get("resources", []) for r in admin_rules)
    assert any("pods/log" in r.get("resources", []) for r in admin_rules)
