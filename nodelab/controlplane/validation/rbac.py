"""Validation of Roles, ClusterRoles and their bindings (`rbac.authorization.k8s.io/v1`), as
upstream's pkg/apis/rbac/validation (v1.37), with its field paths and texts:

- names (the object's and `roleRef.name`) are path segments only (`ValidateRBACName`:
  not `.` or `..`, no `/` or `%`), so `system:basic-user` is a valid name;
- a rule needs `verbs`; a rule with `nonResourceURLs` belongs to a ClusterRole only and
  names no `apiGroups`, `resources` or `resourceNames`; any other rule needs `apiGroups` and
  `resources`;
- a ClusterRole's `aggregationRule` has at least one selector, each a valid label selector;
- a binding's `roleRef` is in `rbac.authorization.k8s.io`, of kind `Role` or `ClusterRole`
  (a ClusterRoleBinding: `ClusterRole` only) and names a role; it never changes once stored
  ("cannot change roleRef": delete and create the binding again, as kubectl's
  `auth reconcile` does);
- a subject is a `User` or `Group` (apiGroup `rbac.authorization.k8s.io`, what defaulting
  fills in) or a `ServiceAccount` (apiGroup empty, a DNS subdomain name, and a namespace when
  bound cluster-wide; in a RoleBinding a subject without one means the binding's namespace).
"""

from __future__ import annotations

from typing import Any

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.label_selectors import label_selector
from nodelab.kube.objects import Object

GROUP = "rbac.authorization.k8s.io"
SUBJECT_KINDS = ["ServiceAccount", "User", "Group"]


def _policy_rule(errors: FieldErrors, rule: Any, namespaced: bool, path: str) -> None:
    rule = rule if isinstance(rule, dict) else {}
    if not rule.get("verbs"):
        errors.required(f"{path}.verbs", "verbs must contain at least one value")
    urls = rule.get("nonResourceURLs")
    if urls:
        if namespaced:
            errors.invalid(f"{path}.nonResourceURLs", urls,
                           "namespaced rules cannot apply to non-resource URLs")
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            errors.invalid(f"{path}.nonResourceURLs", urls,
                           "rules cannot apply to both regular resources and non-resource URLs")
        return
    if not rule.get("apiGroups"):
        errors.required(f"{path}.apiGroups", "resource rules must supply at least one api group")
    if not rule.get("resources"):
        errors.required(f"{path}.resources", "resource rules must supply at least one resource")


def validate_role(errors: FieldErrors, role: Object, namespaced: bool) -> None:
    """`ValidateRole` (namespaced) or `ValidateClusterRole`."""
    for i, rule in enumerate(role.get("rules") or []):
        _policy_rule(errors, rule, namespaced, f"rules[{i}]")
    if namespaced or role.get("aggregationRule") is None:
        return
    aggregation = role["aggregationRule"]
    selectors = aggregation.get("clusterRoleSelectors") if isinstance(aggregation, dict) else None
    if not selectors:
        errors.required("aggregationRule.clusterRoleSelectors",
                        "at least one clusterRoleSelector required if aggregationRule is non-nil")
    for i, selector in enumerate(selectors or []):
        path = f"aggregationRule.clusterRoleSelectors[{i}]"
        found = len(errors.causes)
        label_selector(errors, path, selector)
        if len(errors.causes) > found:  # metav1.LabelSelectorAsSelector fails on it too
            errors.invalid(path, None, "invalid label selector.")


def _subject(errors: FieldErrors, subject: Any, namespaced: bool, path: str) -> None:
    subject = subject if isinstance(subject, dict) else {}
    name, group = subject.get("name") or "", subject.get("apiGroup") or ""
    if not name:
        errors.required(f"{path}.name")
    kind = subject.get("kind")
    if kind == "ServiceAccount":
        if name:
            errors.dns1123_subdomain(f"{path}.name", name)
        if group:
            errors.unsupported(f"{path}.apiGroup", group, [""])
        if not namespaced and not subject.get("namespace"):
            errors.required(f"{path}.namespace")
    elif kind in ("User", "Group"):
        if group != GROUP:
            errors.unsupported(f"{path}.apiGroup", group, [GROUP])
    else:
        errors.unsupported(f"{path}.kind", kind or "", SUBJECT_KINDS)


def role_ref(binding: Object) -> dict[str, str]:
    """The binding's roleRef as upstream's struct compares and prints it (field order kept)."""
    ref = binding.get("roleRef")
    ref = ref if isinstance(ref, dict) else {}
    return {"APIGroup": str(ref.get("apiGroup") or ""), "Kind": str(ref.get("kind") or ""),
            "Name": str(ref.get("name") or "")}


def validate_binding(errors: FieldErrors, binding: Object, namespaced: bool) -> None:
    """`ValidateRoleBinding` (namespaced) or `ValidateClusterRoleBinding`."""
    ref = role_ref(binding)
    if ref["APIGroup"] != GROUP:
        errors.unsupported("roleRef.apiGroup", ref["APIGroup"], [GROUP])
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if ref["Kind"] not in kinds:
        errors.unsupported("roleRef.kind", ref["Kind"], kinds)
    if not ref["Name"]:
        errors.required("roleRef.name")
    else:
        errors.path_segment_name("roleRef.name", ref["Name"])
    for i, subject in enumerate(binding.get("subjects") or []):
        _subject(errors, subject, namespaced, f"subjects[{i}]")


def validate_binding_update(errors: FieldErrors, new: Object, old: Object,
                            namespaced: bool) -> None:
    validate_binding(errors, new, namespaced)
    if role_ref(new) != role_ref(old):
        errors.invalid("roleRef", role_ref(new), "cannot change roleRef")
