"""RBAC (`rbac.authorization.k8s.io/v1`): may this user do this, by the Roles bound to them.

As upstream's RBAC authorizer (plugin/pkg/auth/authorizer/rbac): a request is allowed when
any rule of any role bound to the user (by name, by one of their groups, or, for a service
account, by `kind: ServiceAccount`) covers it:

- ClusterRoleBindings grant their ClusterRole everywhere; RoleBindings grant their Role or
  ClusterRole in their own namespace only;
- a resource rule matches on verbs, apiGroups, resources (`pods`, `pods/log`, `*`, `*/scale`)
  and, when listed, resourceNames; `*` matches anything; a non-resource rule matches on verbs
  and nonResourceURLs (`/healthz`, `/api/*`);
- a ClusterRole with an `aggregationRule` holds the rules of every ClusterRole its selectors
  match (what upstream's clusterrole-aggregation controller writes into it), so `admin`,
  `edit` and `view` grow with the `aggregate-to-*` roles.

Nothing is denied explicitly: no rule, no access. Everything here is a pure function of the
stored objects, so `SelfSubjectAccessReview`, `SubjectAccessReview` and `SelfSubjectRulesReview`
answer from the same code as every request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Object = dict[str, Any]


class Objects(Protocol):
    """What RBAC reads: the stored Roles, ClusterRoles and their bindings."""

    def select(self, kind: str, namespace: str | None = None) -> tuple[list[Object], int]: ...


ROLES = "rbac.authorization.k8s.io/roles"
CLUSTER_ROLES = "rbac.authorization.k8s.io/clusterroles"
ROLE_BINDINGS = "rbac.authorization.k8s.io/rolebindings"
CLUSTER_ROLE_BINDINGS = "rbac.authorization.k8s.io/clusterrolebindings"


@dataclass(frozen=True)
class Attributes:
    """One request, as the authorizer sees it (upstream's `authorizer.Attributes`)."""

    user: str
    groups: tuple[str, ...]
    verb: str
    namespace: str = ""
    group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""  # a non-resource request (`/healthz`), when `resource` is empty

    @property
    def is_resource(self) -> bool:
        return bool(self.resource)


def _matches(values: Iterable[str], wanted: str) -> bool:
    values = list(values or ())
    return "*" in values or wanted in values


def _resource_matches(rule: Object, resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for value in rule.get("resources") or ():
        if value in ("*", combined):
            return True
        if subresource and value == f"*/{subresource}":
            return True
    return False


def _path_matches(rule: Object, path: str) -> bool:
    for value in rule.get("nonResourceURLs") or ():
        if value == "*" or value == path or (value.endswith("*") and path.startswith(value[:-1])):
            return True
    return False


def rule_allows(rule: Object, request: Attributes) -> bool:
    if not _matches(rule.get("verbs") or (), request.verb):
        return False
    if not request.is_resource:
        return _path_matches(rule, request.path)
    if not _matches(rule.get("apiGroups") or (), request.group):
        return False
    if not _resource_matches(rule, request.resource, request.subresource):
        return False
    names = rule.get("resourceNames") or ()
    return not names or request.name in names


def _subject_matches(subject: Object, user: str, groups: Sequence[str]) -> bool:
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "User":
        return bool(name == user)
    if kind == "Group":
        return name in groups
    if kind == "ServiceAccount":
        return user == f"system:serviceaccount:{subject.get('namespace', '')}:{name}"
    return False


def _labels_match(selector: Object, labels: Object) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for requirement in selector.get("matchExpressions") or ():
        key, operator = requirement.get("key"), requirement.get("operator")
        values = requirement.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def cluster_role_rules(role: Object, cluster_roles: Sequence[Object],
                       seen: frozenset[str] = frozenset()) -> list[Object]:
    """A ClusterRole's rules, with those of the ClusterRoles its aggregationRule selects
    (themselves aggregated: `view` is part of `edit`, which is part of `admin`)."""
    aggregation = role.get("aggregationRule") or {}
    selectors = aggregation.get("clusterRoleSelectors") or []
    if not selectors:
        return list(role.get("rules") or [])
    name = str((role.get("metadata") or {}).get("name", ""))
    rules: list[Object] = []
    for other in cluster_roles:
        other_name = str((other.get("metadata") or {}).get("name", ""))
        if other is role or other_name in seen:
            continue
        labels = (other.get("metadata") or {}).get("labels") or {}
        if any(_labels_match(selector, labels) for selector in selectors):
            for rule in cluster_role_rules(other, cluster_roles, seen | {name}):
                if rule not in rules:
                    rules.append(rule)
    return rules


def rules_for(objects: Objects, user: str, groups: Sequence[str], namespace: str
              ) -> list[Object]:
    """Every rule that applies to the user in `namespace` ("" : the cluster-wide ones)."""
    cluster_roles = objects.select(CLUSTER_ROLES)[0]
    by_name = {(r.get("metadata") or {}).get("name"): r for r in cluster_roles}
    rules: list[Object] = []

    def add(ref: Object, binding_namespace: str) -> None:
        if ref.get("kind") == "ClusterRole":
            role = by_name.get(ref.get("name"))
            if role is not None:
                rules.extend(cluster_role_rules(role, cluster_roles))
        elif ref.get("kind") == "Role" and binding_namespace:
            for role in objects.select(ROLES, binding_namespace)[0]:
                if (role.get("metadata") or {}).get("name") == ref.get("name"):
                    rules.extend(role.get("rules") or [])

    for binding in objects.select(CLUSTER_ROLE_BINDINGS)[0]:
        if any(_subject_matches(s, user, groups) for s in binding.get("subjects") or []):
            add(binding.get("roleRef") or {}, "")
    if namespace:
        for binding in objects.select(ROLE_BINDINGS, namespace)[0]:
            if any(_subject_matches(s, user, groups) for s in binding.get("subjects") or []):
                add(binding.get("roleRef") or {}, namespace)
    return rules


PRIVILEGED_GROUP = "system:masters"


def allows(objects: Objects, request: Attributes) -> bool:
    """RBAC's decision, after kube-apiserver's first authorizer: `system:masters` may do
    anything, bound or not (authorizerfactory's privileged groups)."""
    if PRIVILEGED_GROUP in request.groups:
        return True
    rules = rules_for(objects, request.user, request.groups, request.namespace)
    return any(rule_allows(rule, request) for rule in rules)
