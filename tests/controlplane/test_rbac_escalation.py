"""RBAC escalation prevention: the coverage decision (upstream's policy_comparator_test.go
cases) and who may write which role or binding (escalation_check.go, the policy-based
storages)."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.auth import escalation
from nodelab.controlplane.auth.bootstrap_policy import CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES
from nodelab.controlplane.auth.rule_coverage import (
    compact,
    compact_string,
    covers,
    missing_descriptions,
    url_covers,
)
from nodelab.kubewire.go_quote import go_quote, go_quote_list

from .test_rbac import Objects

pytestmark = pytest.mark.unit

Rule = dict[str, Any]


def r(verbs: list[str], groups: list[str] | None = None, resources: list[str] | None = None,
      names: list[str] | None = None, urls: list[str] | None = None) -> Rule:
    rule: Rule = {"verbs": verbs}
    if groups is not None:
        rule["apiGroups"] = groups
    if resources is not None:
        rule["resources"] = resources
    if names is not None:
        rule["resourceNames"] = names
    if urls is not None:
        rule["nonResourceURLs"] = urls
    return rule


# upstream's TestCovers* cases: (owner, servant, covered, uncovered pieces)
COVERS = [
    ("exact match", [r(["get"], ["v1"], ["builds"])], [r(["get"], ["v1"], ["builds"])],
     True, []),
    ("subresource wildcard", [r(["get"], ["v1"], ["*/scale"])],
     [r(["get"], ["v1"], ["foo/scale"])], True, []),
    ("multiple rules covering one",
     [r(["delete"], ["v1"], ["deployments"]), r(["delete"], ["v1"], ["builds"]),
      r(["update"], ["v1"], ["builds", "deployments"])],
     [r(["delete", "update"], ["v1"], ["builds", "deployments"])], True, []),
    ("multiple API groups covering one",
     [r(["delete"], [g], [res]) for g in ("group1", "group2") for res in ("deployments",
                                                                          "builds")]
     + [r(["update"], [g], ["builds", "deployments"]) for g in ("group1", "group2")],
     [r(["delete", "update"], ["group1", "group2"], ["builds", "deployments"])], True, []),
    ("one rule covering many",
     [r(["delete", "update"], ["group1", "group2"], ["builds", "deployments"])],
     [r(["delete"], ["group1"], ["deployments"]), r(["update"], ["group2"], ["builds"])],
     True, []),
    ("one verb-resource pair missing",
     [r(["delete", "update"], ["v1"], ["builds", "deployments"]),
      r(["delete"], ["v1"], ["pods"])],
     [r(["delete", "update"], ["v1"], ["builds", "deployments", "pods"])],
     False, [r(["update"], ["v1"], ["pods"])]),
    ("group star covers many", [r(["get"], ["*"], ["roles"])],
     [r(["get"], ["group1", "group2"], ["roles"])], True, []),
    ("an enumeration does not cover the group star", [r(["get"], ["dummy-group"], ["roles"])],
     [r(["get"], ["*"], ["roles"])], False, [r(["get"], ["*"], ["roles"])]),
    ("group star covers star", [r(["get"], ["*"], ["roles"])], [r(["get"], ["*"], ["roles"])],
     True, []),
    ("verb star covers many", [r(["*"], ["v1"], ["roles"])],
     [r(["watch", "list"], ["v1"], ["roles"])], True, []),
    ("an enumeration does not cover the verb star",
     [r(["get", "list", "watch", "create", "update", "delete", "exec"], ["v1"], ["roles"])],
     [r(["*"], ["v1"], ["roles"])], False, [r(["*"], ["v1"], ["roles"])]),
    ("resource star covers many", [r(["get"], ["v1"], ["*"])],
     [r(["get"], ["v1"], ["resourcegroup:deployments"])], True, []),
    ("an enumeration does not cover the resource star",
     [r(["get"], ["v1"], ["roles", "resourcegroup:deployments"])],
     [r(["get"], ["v1"], ["*"])], False, [r(["get"], ["v1"], ["*"])]),
    ("no resource names cover names", [r(["get"], ["v1"], ["pods"], [])],
     [r(["get"], ["v1"], ["pods"], ["foo", "bar"])], True, []),
    ("names do not cover all names", [r(["get"], ["v1"], ["pods"], ["foo", "bar"])],
     [r(["get"], ["v1"], ["pods"], [])], False, [r(["get"], ["v1"], ["pods"])]),
    ("non-resource URL", [r(["*"], urls=["/apis"])], [r(["*"], urls=["/apis"])], True, []),
    ("non-resource star", [r(["*"], urls=["*"])], [r(["*"], urls=["/apis", "/apis/v1", "/"])],
     True, []),
    ("a star after a prefix does not cover the prefix", [r(["*"], urls=["/apis/*"])],
     [r(["get"], urls=["/apis", "/apis/v1"])], False, [r(["get"], urls=["/apis"])]),
    ("a star after a prefix", [r(["*"], urls=["/apis/*"])],
     [r(["get"], urls=["/apis/v1/foo", "/apis/v1"])], True, []),
    ("URLs with other fields", [r(["get"], ["v1"], ["builds"], urls=["/apis"])],
     [r(["get"], ["v1"], ["builds"], urls=["/apis"])], True, []),
    ("URLs with other fields, not held", [r(["get"], ["v1"], ["builds"])],
     [r(["get"], ["v1"], ["builds"], urls=["/apis"])], False, [r(["get"], urls=["/apis"])]),
]


@pytest.mark.parametrize(("owner", "servant", "covered", "uncovered"),
                         [c[1:] for c in COVERS], ids=[c[0] for c in COVERS])
def test_covers(owner: list[Rule], servant: list[Rule], covered: bool,
                uncovered: list[Rule]) -> None:
    got_covered, got_uncovered = covers(owner, servant)
    assert got_covered is covered
    assert sorted(map(compact_string, got_uncovered)) == sorted(map(compact_string, uncovered))


@pytest.mark.parametrize(("owner", "requested", "want"), [
    ("*", "", True), ("*", "/", True), ("*", "/api", True), ("/*", "", False),
    ("/*", "/", True), ("/*", "/foo", True), ("/api", "/api", True), ("/apis", "/api", False),
    ("/api/v1", "/api", False), ("/api/v1", "/api/v1", True), ("/api/*", "/api/v1", True),
    ("/api/*", "/api", False), ("/api/*/*", "/api/v1", False), ("/*/v1/*", "/api/v1", False),
])
def test_url_covers(owner: str, requested: str, want: bool) -> None:
    assert url_covers(owner, requested) is want


def test_missing_rules_are_compacted_and_written_as_upstream() -> None:
    missing = covers([], [r(["get", "list"], [""], ["pods"]), r(["get"], ["apps"], ["*"], ["x"]),
                          r(["get"], urls=["/healthz"])])[1]
    assert compact(missing)[-1] == r(["get", "list"], [""], ["pods"])
    assert missing_descriptions(missing) == [
        '{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}',
        '{APIGroups:["apps"], Resources:["*"], ResourceNames:["x"], Verbs:["get"]}',
        '{NonResourceURLs:["/healthz"], Verbs:["get"]}',
    ]


@pytest.mark.parametrize(("text", "quoted"), [
    ("plain", '"plain"'), ('a"b\\c', '"a\\"b\\\\c"'), ("tab\tnl\n", '"tab\\tnl\\n"'),
    ("\x00\x7f", '"\\x00\\x7f"'), ("é", '"é"'), ("\u200b", '"\\u200b"'),
])
def test_go_quote(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted
    assert go_quote_list(["a", "b"]) == '["a" "b"]'


# -- who may write which role or binding --------------------------------------------------

SA = "system:serviceaccount:team:lead"
SA_GROUPS = ("system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated")


def _meta(name: str, namespace: str = "") -> dict[str, Any]:
    return {"name": name, "namespace": namespace}


def _binding(name: str, role_kind: str, role: str, namespace: str = "team",
             kind: str = "RoleBinding") -> dict[str, Any]:
    return {"kind": kind, "metadata": _meta(name, namespace),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind,
                        "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": "lead", "namespace": "team"}]}


def _world(*extra_roles: dict[str, Any], extra_cluster_roles: tuple[dict[str, Any], ...] = (),
           extra_bindings: tuple[dict[str, Any], ...] = ()) -> Objects:
    """The bootstrap policy, `lead` bound to `admin` in `team`, and a Role `reader`."""
    cluster_roles = [{**c, "metadata": {**c["metadata"], "namespace": ""}}
                     for c in CLUSTER_ROLES] + list(extra_cluster_roles)
    reader = {"kind": "Role", "metadata": _meta("reader", "team"),
              "rules": [r(["get"], [""], ["pods"])]}
    return Objects(clusterroles=cluster_roles,
                   clusterrolebindings=[{**b, "metadata": {**b["metadata"], "namespace": ""}}
                                        for b in CLUSTER_ROLE_BINDINGS],
                   roles=[reader, *extra_roles],
                   rolebindings=[_binding("lead-admin", "ClusterRole", "admin"),
                                 *extra_bindings])


def _write(resource: str, obj: dict[str, Any], namespace: str = "team",
           old: dict[str, Any] | None = None, url_name: str = "",
           groups: tuple[str, ...] = SA_GROUPS) -> escalation.Write:
    return escalation.Write(SA, groups, resource, namespace, url_name, obj, old)


ROLE_ON_NODES = {"kind": "Role", "metadata": _meta("nodes", "team"),
                 "rules": [r(["get", "list"], [""], ["nodes"])]}
GRANTS = [
    # (case, write, world, code or None)
    ("a binding to a role whose rules the writer holds (admin covers view)",
     _write("rolebindings", _binding("b", "ClusterRole", "view")), _world(), None),
    ("a binding to a Role of the namespace the writer covers",
     _write("rolebindings", _binding("b", "Role", "reader")), _world(), None),
    ("a binding to cluster-admin", _write("rolebindings", _binding("b", "ClusterRole",
                                                                   "cluster-admin")),
     _world(), 403),
    ("a binding in another namespace",
     _write("rolebindings", _binding("b", "ClusterRole", "view", "other"), "other"),
     _world(), 403),
    ("a ClusterRoleBinding to view (admin holds it in team only)",
     _write("clusterrolebindings", _binding("b", "ClusterRole", "view", "",
                                            "ClusterRoleBinding"), ""), _world(), 403),
    ("a binding to a missing role", _write("rolebindings", _binding("b", "Role", "nope")),
     _world(), 404),
    ("a binding of an unknown roleRef kind is left to validation (its 422)",
     _write("rolebindings", _binding("b", "Group", "x")), _world(), None),
    ("a ClusterRoleBinding of a Role is left to validation (its 422)",
     _write("clusterrolebindings", _binding("b", "Role", "reader", "", "ClusterRoleBinding"),
            ""), _world(), None),
    ("a binding to cluster-admin with `bind` on it",
     _write("rolebindings", _binding("b", "ClusterRole", "cluster-admin")),
     _world(extra_cluster_roles=({"kind": "ClusterRole", "metadata": _meta("binder"),
                                  "rules": [r(["bind"], ["rbac.authorization.k8s.io"],
                                              ["clusterroles"], ["cluster-admin"])]},),
            extra_bindings=(_binding("lead-binder", "ClusterRole", "binder"),)), None),
    ("`bind` on another role does not help",
     _write("rolebindings", _binding("b", "ClusterRole", "cluster-admin")),
     _world(extra_cluster_roles=({"kind": "ClusterRole", "metadata": _meta("binder"),
                                  "rules": [r(["bind"], ["rbac.authorization.k8s.io"],
                                              ["clusterroles"], ["edit"])]},),
            extra_bindings=(_binding("lead-binder", "ClusterRole", "binder"),)), 403),
    ("a Role the writer covers", _write("roles", {"kind": "Role", "metadata": _meta("r", "team"),
                                                  "rules": [r(["get"], [""], ["pods"])]}),
     _world(), None),
    ("a Role on nodes (admin holds no node rule)", _write("roles", ROLE_ON_NODES), _world(),
     403),
    ("a Role on nodes with `escalate` on roles",
     _write("roles", ROLE_ON_NODES),
     _world(extra_cluster_roles=({"kind": "ClusterRole", "metadata": _meta("escalator"),
                                  "rules": [r(["escalate"], ["rbac.authorization.k8s.io"],
                                              ["roles"])]},),
            extra_bindings=(_binding("lead-escalator", "ClusterRole", "escalator"),)), None),
    ("a ClusterRole (no cluster-wide rights)",
     _write("clusterroles", {"kind": "ClusterRole", "metadata": _meta("c"),
                             "rules": [r(["get"], [""], ["pods"])]}, ""), _world(), 403),
    ("system:masters may grant anything",
     _write("clusterrolebindings", _binding("b", "ClusterRole", "cluster-admin", "",
                                            "ClusterRoleBinding"), "",
            groups=("system:masters", "system:authenticated")), _world(), None),
    ("an update that only changes ownerReferences",
     _write("rolebindings", {**_binding("lead-admin", "ClusterRole", "cluster-admin"),
                             "metadata": {**_meta("lead-admin", "team"),
                                          "ownerReferences": [{"name": "o"}]}},
            old=_binding("lead-admin", "ClusterRole", "cluster-admin"),
            url_name="lead-admin"), _world(), None),
    ("an update that changes the subjects of a binding to cluster-admin",
     _write("rolebindings", {**_binding("x", "ClusterRole", "cluster-admin"), "subjects": []},
            old=_binding("x", "ClusterRole", "cluster-admin"), url_name="x"), _world(), 403),
]


@pytest.mark.parametrize(("write", "world", "code"), [g[1:] for g in GRANTS],
                         ids=[g[0] for g in GRANTS])
def test_who_may_grant_what(write: escalation.Write, world: Objects, code: int | None) -> None:
    refusal = escalation.refusal(world, write)
    assert (refusal.code if refusal else None) == code, refusal


def test_the_refusal_is_upstreams_text() -> None:
    write = _write("rolebindings", _binding("grab", "ClusterRole", "cluster-admin"))
    refusal = escalation.refusal(_world(), write)
    assert refusal is not None
    assert refusal.status()["reason"] == "Forbidden"
    assert refusal.details == {"name": "grab", "group": "rbac.authorization.k8s.io",
                               "kind": "rolebindings"}
    assert refusal.message == (
        'rolebindings.rbac.authorization.k8s.io "grab" is forbidden: user '
        '"system:serviceaccount:team:lead" (groups=["system:serviceaccounts" '
        '"system:serviceaccounts:team" "system:authenticated"]) is attempting to grant RBAC '
        'permissions not currently held:\n'
        '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n'
        '{NonResourceURLs:["*"], Verbs:["*"]}')


def test_an_aggregation_rule_needs_full_authority() -> None:
    aggregated = {"kind": "ClusterRole", "metadata": _meta("agg"), "rules": [],
                  "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"a": "b"}}]}}
    everything = {"kind": "ClusterRole", "metadata": _meta("roles-writer"),
                  "rules": [r(["create", "update"], ["rbac.authorization.k8s.io"],
                                  ["clusterroles"])]}
    world = Objects(clusterroles=[everything], clusterrolebindings=[{
        "metadata": _meta("w"), "roleRef": {"kind": "ClusterRole", "name": "roles-writer"},
        "subjects": [{"kind": "User", "name": "jane"}]}])
    write = escalation.Write("jane", ("system:authenticated",), "clusterroles", "", "",
                             aggregated)
    refusal = escalation.refusal(world, write)
    assert refusal is not None and refusal.message == (
        'clusterroles.rbac.authorization.k8s.io "agg" is forbidden: must have cluster-admin '
        'privileges to use the aggregationRule')
    # removing it from an existing role is as guarded as setting it
    plain = {**aggregated, "aggregationRule": None}
    assert escalation.refusal(world, escalation.Write(
        "jane", ("system:authenticated",), "clusterroles", "", "agg", plain, aggregated))


def test_the_refusal_ends_with_the_writers_resolution_errors() -> None:
    """ConfirmNoEscalation: when the writer's own bindings name missing roles, the refusal
    says so (`; resolution errors: [...]`, the registry's plural names)."""
    world = _world(extra_bindings=(_binding("lead-gone", "ClusterRole", "gone"),))
    refusal = escalation.refusal(world, _write("rolebindings",
                                               _binding("grab", "ClusterRole", "cluster-admin")))
    assert refusal is not None and refusal.message.endswith(
        '{NonResourceURLs:["*"], Verbs:["*"]}; resolution errors: '
        '[clusterroles.rbac.authorization.k8s.io "gone" not found]')
    # a write that is covered passes whatever the errors
    assert escalation.refusal(world, _write("rolebindings",
                                            _binding("b", "ClusterRole", "view"))) is None
