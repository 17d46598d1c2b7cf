"""Which RBAC rules apply to a user in a namespace, where each comes from, and what could not
be resolved (upstream's pkg/registry/rbac/validation `DefaultRuleResolver.VisitRulesFor`).

The ClusterRoleBindings come first, then the RoleBindings of the namespace. A binding applies
when one of its subjects is the user (`User`), one of their groups (`Group`) or, for a service
account, `ServiceAccount` with its namespace; a ServiceAccount subject of a RoleBinding that
names no namespace means the binding's own (`appliesToUser`). The rules are those of the role
the binding names: a Role of the binding's namespace, or a ClusterRole with, when it has an
`aggregationRule`, the rules of every ClusterRole its selectors match (what upstream's
clusterrole-aggregation controller writes into it, so `admin`, `edit` and `view` grow with the
`aggregate-to-*` roles).

A binding whose role does not exist adds no rule and one resolution error, written as
upstream's getters write it: the authorizer reads through informer listers
(`clusterrole.rbac.authorization.k8s.io "x" not found`), the escalation check through the
registry (`clusterroles.rbac.authorization.k8s.io "x" not found`). Rules are purely additive,
so what was found still counts; the errors only explain a denial.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from nodelab.kube.label_selectors import selector_matches
from nodelab.kube.objects import Object
from nodelab.kubewire.go_quote import go_quote

GROUP = "rbac.authorization.k8s.io"
ROLES = f"{GROUP}/roles"
CLUSTER_ROLES = f"{GROUP}/clusterroles"
ROLE_BINDINGS = f"{GROUP}/rolebindings"
CLUSTER_ROLE_BINDINGS = f"{GROUP}/clusterrolebindings"


class Objects(Protocol):
    """What RBAC reads: the stored Roles, ClusterRoles and their bindings."""

    def select(self, kind: str, namespace: str | None = None) -> tuple[list[Object], int]: ...


@dataclass(frozen=True)
class Grant:
    """One rule that applies, and the binding it comes through (upstream's describer:
    `ClusterRoleBinding "b" of ClusterRole "r" to Group "g"`)."""

    rule: Object
    source: str


@dataclass
class Resolution:
    grants: list[Grant] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def rules(self) -> list[Object]:
        return [grant.rule for grant in self.grants]


def aggregate(messages: Sequence[str]) -> str:
    """`utilerrors.NewAggregate(errs).Error()`: one message as it is, several deduplicated in
    brackets (`[a, b]`)."""
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def _name(obj: Object) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def cluster_role_rules(role: Object, cluster_roles: Sequence[Object],
                       seen: frozenset[str] = frozenset()) -> list[Object]:
    """A ClusterRole's rules, with those of the ClusterRoles its aggregationRule selects
    (themselves aggregated: `view` is part of `edit`, which is part of `admin`)."""
    aggregation = role.get("aggregationRule") or {}
    selectors = aggregation.get("clusterRoleSelectors") or []
    if not selectors:
        return list(role.get("rules") or [])
    rules: list[Object] = []
    for other in cluster_roles:
        if other is role or _name(other) in seen:
            continue
        labels = (other.get("metadata") or {}).get("labels") or {}
        if any(selector_matches(selector, labels) for selector in selectors):
            for rule in cluster_role_rules(other, cluster_roles, seen | {_name(role)}):
                if rule not in rules:
                    rules.append(rule)
    return rules


def subject_applies(subject: Object, user: str, groups: Sequence[str], namespace: str) -> bool:
    """`appliesToUser`; `namespace` is the binding's ("" for a ClusterRoleBinding)."""
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "User":
        return bool(name == user)
    if kind == "Group":
        return name in groups
    if kind == "ServiceAccount":
        account_namespace = subject.get("namespace") or namespace
        return bool(account_namespace) and (
            user == f"system:serviceaccount:{account_namespace}:{name}")
    return False


def _describe_subject(subject: Object, namespace: str) -> str:
    name = str(subject.get("name", ""))
    if subject.get("kind") == "ServiceAccount":
        name = f"{name}/{subject.get('namespace') or namespace}"
    return f"{subject.get('kind', '')} {go_quote(name)}"


def _not_found(resource: str, name: str, plural: bool) -> str:
    return f"{resource + 's' if plural else resource}.{GROUP} {go_quote(name)} not found"


def _listed(objects: Objects, kind: str, namespace: str | None = None) -> list[Object]:
    """The stored objects of `kind`: parsed once per change where the store can share them
    (`Store.select_shared`; RBAC only reads them), else listed."""
    shared = getattr(objects, "select_shared", None)
    if shared is not None:
        found: list[Object] = shared(kind, namespace)
        return found
    return objects.select(kind, namespace)[0]


def role_ref_rules(objects: Objects, ref: Object, namespace: str, plural: bool = False
                   ) -> tuple[list[Object], str]:
    """`GetRoleReferenceRules`: (rules, "") or ([], why not) for a binding's roleRef in the
    binding's namespace ("" for a ClusterRoleBinding)."""
    kind, name = ref.get("kind"), str(ref.get("name") or "")
    if kind == "ClusterRole":
        cluster_roles = _listed(objects, CLUSTER_ROLES)
        for role in cluster_roles:
            if _name(role) == name:
                return cluster_role_rules(role, cluster_roles), ""
        return [], _not_found("clusterrole", name, plural)
    if kind == "Role":
        for role in _listed(objects, ROLES, namespace) if namespace else []:
            if _name(role) == name:
                return list(role.get("rules") or []), ""
        return [], _not_found("role", name, plural)
    return [], f"unsupported role reference kind: {go_quote(str(kind or ''))}"


def resolve(objects: Objects, user: str, groups: Sequence[str], namespace: str,
            plural: bool = False) -> Resolution:
    """Every rule that applies to the user in `namespace` ("": the cluster-wide ones), in
    upstream's order, with the resolution errors met on the way. `plural`: write a missing
    role as the registry does (`roles.`), not as a lister (`role.`)."""
    found = Resolution()
    bindings = [("ClusterRoleBinding", b, "") for b in _listed(objects, CLUSTER_ROLE_BINDINGS)]
    if namespace:
        bindings += [("RoleBinding", b, namespace)
                     for b in _listed(objects, ROLE_BINDINGS, namespace)]
    for kind, binding, binding_namespace in bindings:
        subject = next((s for s in binding.get("subjects") or []
                        if isinstance(s, dict)
                        and subject_applies(s, user, groups, binding_namespace)), None)
        if subject is None:
            continue
        ref = binding.get("roleRef") or {}
        rules, error = role_ref_rules(objects, ref, binding_namespace, plural)
        if error:
            found.errors.append(error)
            continue
        name = _name(binding) + (f"/{binding_namespace}" if binding_namespace else "")
        source = (f"{kind} {go_quote(name)} of {ref.get('kind', '')} "
                  f"{go_quote(str(ref.get('name', '')))} to "
                  f"{_describe_subject(subject, binding_namespace)}")
        found.grants.extend(Grant(rule, source) for rule in rules)
    return found
