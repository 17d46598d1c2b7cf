"""A namespace admin's every way of granting itself more than it holds, against the real API
server with the official client: each is a 403 and leaves every RBAC object as it was."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from ..controlplane.apiserver import RunningApiServer, running_apiserver
from .victim import FIGURE

LEAD = "system:serviceaccount:team:lead"
RBAC = "rbac.authorization.k8s.io"
CLUSTER_ADMIN_REF = {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cluster-admin"}
SUBJECTS = [{"kind": "ServiceAccount", "name": "lead", "namespace": "team"}]


@pytest.fixture(scope="module")
def apiserver() -> Iterator[RunningApiServer]:
    with running_apiserver() as server:
        server.kubectl("create", "namespace", "team")
        server.kubectl("create", "rolebinding", "lead-admin", "--clusterrole=admin",
                       "--serviceaccount=team:lead", "-n", "team")
        server.kubectl("create", "rolebinding", "view", "--clusterrole=view",
                       "--serviceaccount=team:dev", "-n", "team")
        server.kubectl("create", "role", "reader", "--verb=get", "--resource=pods",
                       "-n", "team")
        yield server


def _binding(name: str, ref: dict[str, str] = CLUSTER_ADMIN_REF) -> dict[str, Any]:
    return {"metadata": {"name": name}, "roleRef": ref, "subjects": SUBJECTS}


def _role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": {"name": name}, "rules": rules}


Attempt = Callable[[Any], Any]  # the RbacAuthorizationV1Api, given plain dicts
ATTEMPTS: list[tuple[str, Attempt]] = [
    ("a RoleBinding to cluster-admin",
     lambda api: api.create_namespaced_role_binding("team", _binding("grab"))),
    ("the same, dry run",
     lambda api: api.create_namespaced_role_binding("team", _binding("grab"), dry_run="All")),
    ("the same, by generateName",
     lambda api: api.create_namespaced_role_binding("team", {
         **_binding(""), "metadata": {"generateName": "grab-"}})),
    ("a RoleBinding to the controllers' role",
     lambda api: api.create_namespaced_role_binding("team", _binding("ctl", {
         **CLUSTER_ADMIN_REF, "name": "system:nodelab:controllers"}))),
    ("a ClusterRoleBinding to view",
     lambda api: api.create_cluster_role_binding(_binding("cview", {
         **CLUSTER_ADMIN_REF, "name": "view"}))),
    ("a Role on nodes", lambda api: api.create_namespaced_role("team", _role("nodes", [
        {"verbs": ["get"], "apiGroups": [""], "resources": ["nodes"]}]))),
    ("a Role with every verb on pods", lambda api: api.create_namespaced_role("team", _role(
        "star", [{"verbs": ["*"], "apiGroups": [""], "resources": ["pods"]}]))),
    ("a Role with `escalate` on roles", lambda api: api.create_namespaced_role("team", _role(
        "esc", [{"verbs": ["escalate", "bind"], "apiGroups": [RBAC], "resources": ["roles"]}]))),
    ("a Role with a non-resource URL", lambda api: api.create_namespaced_role("team", _role(
        "url", [{"verbs": ["get"], "nonResourceURLs": ["/metrics"]}]))),
    ("a Role replaced with a secrets-star rule (PUT)",
     lambda api: api.replace_namespaced_role("reader", "team", _role("reader", [
         {"verbs": ["*"], "apiGroups": [""], "resources": ["secrets"]}]))),
    ("a Role patched with a node rule (JSON patch)",
     lambda api: api.patch_namespaced_role("reader", "team", [
         {"op": "add", "path": "/rules/-",
          "value": {"verbs": ["delete"], "apiGroups": [""], "resources": ["nodes"]}}])),
    ("a RoleBinding's roleRef patched to cluster-admin",
     lambda api: api.patch_namespaced_role_binding("view", "team", {
         "roleRef": CLUSTER_ADMIN_REF, "subjects": SUBJECTS})),
    ("a RoleBinding to cluster-admin by server-side apply",
     lambda api: api.patch_namespaced_role_binding(
         "applied", "team", {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
                             **_binding("applied")},
         field_manager="lead", _content_type="application/apply-patch+yaml")),
    ("a ClusterRole with an aggregationRule", lambda api: api.create_cluster_role({
        "metadata": {"name": "agg"}, "rules": [], "aggregationRule": {
            "clusterRoleSelectors": [{"matchLabels": {
                "rbac.authorization.k8s.io/aggregate-to-admin": "true"}}]}})),
]


def _rbac_state(server: RunningApiServer) -> str:
    return server.kubectl("get", "roles,rolebindings,clusterroles,clusterrolebindings", "-A",
                          "-o", "jsonpath={range .items[*]}{.kind}/{.metadata.name}="
                          "{.metadata.resourceVersion}{'\\n'}{end}").stdout


@pytest.mark.parametrize("what", [a[0] for a in ATTEMPTS])
def test_a_namespace_admin_cannot_grant_more_than_it_holds(apiserver: RunningApiServer,
                                                           what: str) -> None:
    attempt = dict(ATTEMPTS)[what]
    client = apiserver.client()
    # a service account's groups come with it, as upstream impersonates one
    client.set_default_header("Impersonate-User", LEAD)  # type: ignore[no-untyped-call]
    before = _rbac_state(apiserver)
    with pytest.raises(k8s.ApiException) as refused:
        attempt(k8s.RbacAuthorizationV1Api(client))
    after = _rbac_state(apiserver)
    changed = [] if after == before else [f"{what}: RBAC objects changed"]
    FIGURE.record("RBAC escalation by a namespace admin", changed)
    assert refused.value.status == 403, refused.value.body
    assert changed == []


EDIT_REF = {"apiGroup": RBAC, "kind": "ClusterRole", "name": "edit"}  # admin holds edit
REPURPOSED: list[tuple[str, Attempt]] = [
    ("a binding's roleRef patched to a role the writer holds",
     lambda api: api.patch_namespaced_role_binding("view", "team", {"roleRef": EDIT_REF})),
    ("a binding replaced with another roleRef (PUT)",
     lambda api: api.replace_namespaced_role_binding("view", "team", {
         "metadata": {"name": "view"}, "roleRef": EDIT_REF,
         "subjects": [{"kind": "ServiceAccount", "name": "dev", "namespace": "team"}]})),
    ("a binding's roleRef changed by server-side apply",
     lambda api: api.patch_namespaced_role_binding(
         "view", "team", {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
                          "metadata": {"name": "view"}, "roleRef": EDIT_REF},
         field_manager="lead", force=True, _content_type="application/apply-patch+yaml")),
]


@pytest.mark.parametrize("what", [a[0] for a in REPURPOSED])
def test_a_binding_is_never_repurposed(apiserver: RunningApiServer, what: str) -> None:
    """Upstream's validation: a roleRef never changes (422), even to a role the writer may
    bind, so a binding always grants what it granted when it was made."""
    client = apiserver.client()
    client.set_default_header("Impersonate-User", LEAD)  # type: ignore[no-untyped-call]
    before = _rbac_state(apiserver)
    with pytest.raises(k8s.ApiException) as refused:
        dict(REPURPOSED)[what](k8s.RbacAuthorizationV1Api(client))
    after = _rbac_state(apiserver)
    changed = [] if after == before else [f"{what}: RBAC objects changed"]
    FIGURE.record("RBAC roleRef changes", changed)
    assert refused.value.status == 422, refused.value.body
    assert "cannot change roleRef" in refused.value.body
    assert changed == []
