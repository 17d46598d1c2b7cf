"""RBAC validation and defaulting as upstream's (pkg/apis/rbac/validation, rbac/v1 defaults):
each case the causes (field path, reason, message) kube-apiserver v1.37 answers."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from nodelab.controlplane.registry.defaults import apply_defaults
from nodelab.controlplane.validation import validate

pytestmark = pytest.mark.unit

G = "rbac.authorization.k8s.io"
ROLES, CLUSTER_ROLES = f"{G}/roles", f"{G}/clusterroles"
BINDINGS, CLUSTER_BINDINGS = f"{G}/rolebindings", f"{G}/clusterrolebindings"
REQUIRED, INVALID, UNSUPPORTED = "FieldValueRequired", "FieldValueInvalid", "FieldValueNotSupported"


def role(*rules: dict[str, Any], name: str = "r", **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "team"}, "rules": list(rules), **extra}


def binding(kind: str = "ClusterRole", name: str = "view", group: str = G,
            subjects: list[dict[str, Any]] | None = None, **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": "b", "namespace": "team", **meta},
            "roleRef": {"apiGroup": group, "kind": kind, "name": name},
            "subjects": subjects if subjects is not None else [
                {"kind": "ServiceAccount", "name": "dev", "namespace": "team"}]}


PODS = {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}
HEALTHZ = {"verbs": ["get"], "nonResourceURLs": ["/healthz"]}
USER = {"kind": "User", "name": "jane", "apiGroup": G}

CASES: list[tuple[str, str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("a valid Role", ROLES, role(PODS), []),
    ("a Role name with ':' (a path segment, as system:basic-user)", ROLES,
     role(PODS, name="team:reader"), []),
    ("a Role name with '/' and '%'", ROLES, role(PODS, name="a/b%c"), [
        ("metadata.name", INVALID, "Invalid value: \"a/b%c\": may not contain '/'"),
        ("metadata.name", INVALID, "Invalid value: \"a/b%c\": may not contain '%'")]),
    ("a Role named '..'", ROLES, role(PODS, name=".."), [
        ("metadata.name", INVALID, "Invalid value: \"..\": may not be '..'")]),
    ("a rule without verbs, groups or resources", ROLES, role({}), [
        ("rules[0].verbs", REQUIRED, "Required value: verbs must contain at least one value"),
        ("rules[0].apiGroups", REQUIRED,
         "Required value: resource rules must supply at least one api group"),
        ("rules[0].resources", REQUIRED,
         "Required value: resource rules must supply at least one resource")]),
    ("nonResourceURLs in a Role", ROLES, role(HEALTHZ), [
        ("rules[0].nonResourceURLs", INVALID, 'Invalid value: ["/healthz"]: namespaced rules '
         "cannot apply to non-resource URLs")]),
    ("nonResourceURLs in a ClusterRole", CLUSTER_ROLES, role(HEALTHZ), []),
    ("nonResourceURLs with resources", CLUSTER_ROLES, role({**HEALTHZ, "resources": ["pods"]}), [
        ("rules[0].nonResourceURLs", INVALID, 'Invalid value: ["/healthz"]: rules cannot apply '
         "to both regular resources and non-resource URLs")]),
    ("resourceNames on several resources (upstream dropped that check)", ROLES,
     role({**PODS, "resources": ["pods", "secrets"], "resourceNames": ["x"]}), []),
    ("an aggregationRule without selectors", CLUSTER_ROLES,
     role(aggregationRule={"clusterRoleSelectors": []}), [
         ("aggregationRule.clusterRoleSelectors", REQUIRED, "Required value: at least one "
          "clusterRoleSelector required if aggregationRule is non-nil")]),
    ("an aggregationRule with a bad selector", CLUSTER_ROLES,
     role(aggregationRule={"clusterRoleSelectors": [
         {"matchExpressions": [{"key": "a", "operator": "In"}]}]}), [
         ("aggregationRule.clusterRoleSelectors[0].matchExpressions[0].values", REQUIRED,
          "Required value: must be specified when `operator` is 'In' or 'NotIn'"),
         ("aggregationRule.clusterRoleSelectors[0]", INVALID,
          "Invalid value: null: invalid label selector.")]),
    ("an aggregationRule selecting an invalid label value", CLUSTER_ROLES,
     role(aggregationRule={"clusterRoleSelectors": [
         {"matchExpressions": [{"key": "a", "operator": "In", "values": ["b c"]}]}]}), [
         ("aggregationRule.clusterRoleSelectors[0].matchExpressions[0].values[0]", INVALID,
          'Invalid value: "b c": a valid label must be an empty string or consist of '
          "alphanumeric characters, '-', '_' or '.', and must start and end with an "
          "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
          "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
         ("aggregationRule.clusterRoleSelectors[0]", INVALID,
          "Invalid value: null: invalid label selector.")]),
    ("a valid aggregationRule", CLUSTER_ROLES,
     role(aggregationRule={"clusterRoleSelectors": [{"matchLabels": {"a": "b"}}]}), []),
    ("a valid RoleBinding", BINDINGS, binding(), []),
    ("a RoleBinding to a Role", BINDINGS, binding("Role", "reader"), []),
    ("a ServiceAccount without namespace in a RoleBinding", BINDINGS,
     binding(subjects=[{"kind": "ServiceAccount", "name": "dev"}]), []),
    ("a roleRef of another group, kind and no name", BINDINGS, binding("Group", "", "x.io"), [
        ("roleRef.apiGroup", UNSUPPORTED,
         'Unsupported value: "x.io": supported values: "rbac.authorization.k8s.io"'),
        ("roleRef.kind", UNSUPPORTED,
         'Unsupported value: "Group": supported values: "Role", "ClusterRole"'),
        ("roleRef.name", REQUIRED, "Required value")]),
    ("a roleRef name with '/'", BINDINGS, binding(name="a/b"), [
        ("roleRef.name", INVALID, "Invalid value: \"a/b\": may not contain '/'")]),
    ("a ClusterRoleBinding to a Role", CLUSTER_BINDINGS, binding("Role", "reader"), [
        ("roleRef.kind", UNSUPPORTED, 'Unsupported value: "Role": supported values: '
         '"ClusterRole"')]),
    ("a ServiceAccount without namespace in a ClusterRoleBinding", CLUSTER_BINDINGS,
     binding(subjects=[{"kind": "ServiceAccount", "name": "dev"}]), [
         ("subjects[0].namespace", REQUIRED, "Required value")]),
    ("subjects of every wrong kind", BINDINGS, binding(subjects=[
        {"kind": "ServiceAccount", "name": "Dev_1", "apiGroup": G},
        {"kind": "User", "name": "jane", "apiGroup": "x.io"},
        {"kind": "Robot", "name": "r2"},
        {"kind": "Group", "apiGroup": G}]), [
        ("subjects[0].name", INVALID, 'Invalid value: "Dev_1": a lowercase RFC 1123 subdomain '
         "must consist of lower case alphanumeric characters, '-' or '.', and must start and "
         "end with an alphanumeric character"
         " (e.g. 'example.com',"
         " regex used for validation is "
         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
        ("subjects[0].apiGroup", UNSUPPORTED,
         'Unsupported value: "rbac.authorization.k8s.io": supported values: ""'),
        ("subjects[1].apiGroup", UNSUPPORTED,
         'Unsupported value: "x.io": supported values: "rbac.authorization.k8s.io"'),
        ("subjects[2].kind", UNSUPPORTED, 'Unsupported value: "Robot": supported values: '
         '"ServiceAccount", "User", "Group"'),
        ("subjects[3].name", REQUIRED, "Required value")]),
]


@pytest.mark.parametrize(("key", "obj", "causes"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_validation(key: str, obj: dict[str, Any], causes: list[tuple[str, str, str]]) -> None:
    assert [(c.field, c.reason, c.message) for c in validate(key, obj)] == causes


@pytest.mark.parametrize("key", [BINDINGS, CLUSTER_BINDINGS])
def test_role_ref_cannot_change(key: str) -> None:
    old = binding()
    renamed = binding(name="edit")
    assert [(c.field, c.message) for c in validate(key, renamed, old)] == [
        ("roleRef", 'Invalid value: {"APIGroup":"rbac.authorization.k8s.io",'
         '"Kind":"ClusterRole","Name":"edit"}: cannot change roleRef')]
    more_subjects = binding(subjects=[USER])
    assert validate(key, more_subjects, old) == []  # the subjects may change


def test_defaults_fill_the_api_groups() -> None:
    """SetDefaults_RoleBinding/_Subject: what `kubectl create rolebinding --user` omits."""
    sent = binding(group="", subjects=[{"kind": "User", "name": "jane"},
                                       {"kind": "Group", "name": "devs"},
                                       {"kind": "ServiceAccount", "name": "dev"}])
    defaulted = copy.deepcopy(sent)
    apply_defaults(BINDINGS, defaulted)
    assert defaulted["roleRef"]["apiGroup"] == G
    assert [s.get("apiGroup") for s in defaulted["subjects"]] == [G, G, None]
    assert validate(BINDINGS, defaulted) == []
