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


SA = "system:serviceaccount:team:dev"
SA_GROUPS = ("system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated")
READER = {"metadata": {"name": "reader", "namespace": "team"},
          "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]}


def test_a_service_account_subject_without_namespace_means_the_bindings() -> None:
    """appliesToUser: in a RoleBinding, `--serviceaccount` without `ns:` is the binding's
    namespace; in a ClusterRoleBinding it names nobody."""
    subject = {"kind": "ServiceAccount", "name": "dev"}
    objects = Objects(roles=[READER], rolebindings=[
        _binding("RoleBinding", "b", "Role", "reader", subject, "team")])
    assert rbac.allows(objects, attributes("get", "pods", namespace="team", user=SA,
                                           groups=SA_GROUPS))
    other = "system:serviceaccount:other:dev"
    assert not rbac.allows(objects, attributes("get", "pods", namespace="team", user=other))
    cluster_wide = Objects(clusterroles=[{**READER, "metadata": {"name": "reader"}}],
                           clusterrolebindings=[_binding("ClusterRoleBinding", "b",
                                                         "ClusterRole", "reader", subject)])
    assert not rbac.allows(cluster_wide, attributes("get", "pods", namespace="team", user=SA,
                                                    groups=SA_GROUPS))


def test_the_reason_names_the_binding_or_the_missing_roles() -> None:
    """The RBAC authorizer's reason: who allowed, or (on a denial) the roles bindings name
    that do not exist, as its listers write them, aggregated."""
    sa_subject = {"kind": "ServiceAccount", "name": "dev", "namespace": "team"}
    objects = Objects(roles=[READER], rolebindings=[
        _binding("RoleBinding", "gone", "Role", "gone", sa_subject, "team"),
        _binding("RoleBinding", "reads", "Role", "reader", {"kind": "Group", "name":
                                                            "system:serviceaccounts"}, "team"),
    ], clusterrolebindings=[_binding("ClusterRoleBinding", "old", "ClusterRole", "old-role",
                                     {"kind": "User", "name": SA})])
    allowed = rbac.decide(objects, attributes("get", "pods", namespace="team", user=SA,
                                              groups=SA_GROUPS))
    assert allowed == rbac.Decision(True, 'RBAC: allowed by RoleBinding "reads/team" of Role '
                                          '"reader" to Group "system:serviceaccounts"')
    denied = rbac.decide(objects, attributes("delete", "pods", namespace="team", user=SA,
                                             groups=SA_GROUPS))
    assert denied == rbac.Decision(False, 'RBAC: [clusterrole.rbac.authorization.k8s.io '
                                          '"old-role" not found, role.rbac.authorization.k8s.io '
                                          '"gone" not found]')
    elsewhere = rbac.decide(objects, attributes("get", "pods", namespace="other", user=SA,
                                                groups=SA_GROUPS))
    assert elsewhere == rbac.Decision(
        False, 'RBAC: clusterrole.rbac.authorization.k8s.io "old-role" not found')
    nobody = rbac.decide(objects, attributes("get", "pods", namespace="team", user="jane"))
    assert nobody == rbac.Decision(False, "")
    masters = rbac.decide(objects, attributes("get", "pods", user="a",
                                              groups=("system:masters",)))
    assert masters == rbac.Decision(True, "")
