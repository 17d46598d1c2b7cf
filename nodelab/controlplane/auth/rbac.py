"""RBAC (`rbac.authorization.k8s.io/v1`): may this user do this, by the Roles bound to them.

As upstream's RBAC authorizer (plugin/pkg/auth/authorizer/rbac): a request is allowed when
any rule of any role bound to the user (by name, by one of their groups, or, for a service
account, by `kind: ServiceAccount`; `rule_resolver.py`) covers it:

- ClusterRoleBindings grant their ClusterRole everywhere; RoleBindings grant their Role or
  ClusterRole in their own namespace only;
- a resource rule matches on verbs, apiGroups, resources (`pods`, `pods/log`, `*`, `*/scale`)
  and, when listed, resourceNames; `*` matches anything; a non-resource rule matches on verbs
  and nonResourceURLs (`/healthz`, `/api/*`);
- a ClusterRole with an `aggregationRule` holds the rules of every ClusterRole its selectors
  match (what upstream's clusterrole-aggregation controller writes into it), so `admin`,
  `edit` and `view` grow with the `aggregate-to-*` roles.

Nothing is denied explicitly: no rule, no access. The decision carries upstream's reason: the
binding that allowed, or the bindings whose role is missing (`Decision`). Everything here is a
pure function of the stored objects, so `SelfSubjectAccessReview`, `SubjectAccessReview` and
`SelfSubjectRulesReview` answer from the same code as every request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nodelab.controlplane.auth.rule_resolver import (
    CLUSTER_ROLE_BINDINGS,
    CLUSTER_ROLES,
    ROLE_BINDINGS,
    ROLES,
    Objects,
    aggregate,
    cluster_role_rules,
    resolve,
)
from nodelab.kube.objects import Object

__all__ = ["CLUSTER_ROLES", "CLUSTER_ROLE_BINDINGS", "PRIVILEGED_GROUP", "ROLES",
           "ROLE_BINDINGS", "Attributes", "Decision", "Objects", "allows", "cluster_role_rules",
           "decide", "rule_allows", "rules_for"]


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


def rules_for(objects: Objects, user: str, groups: Sequence[str], namespace: str
              ) -> list[Object]:
    """Every rule that applies to the user in `namespace` ("" : the cluster-wide ones)."""
    return resolve(objects, user, groups, namespace).rules


PRIVILEGED_GROUP = "system:masters"


@dataclass(frozen=True)
class Decision:
    """The authorizer's answer and its reason (what a SubjectAccessReview's `status.reason`
    and a 403's message carry): `RBAC: allowed by <binding>`, or on a denial the resolution
    errors met (`RBAC: clusterrole.rbac.authorization.k8s.io "x" not found`), else ""."""

    allowed: bool
    reason: str = ""


def decide(objects: Objects, request: Attributes) -> Decision:
    """RBAC's decision, after kube-apiserver's first authorizer: `system:masters` may do
    anything, bound or not (authorizerfactory's privileged groups, no reason). Rules are
    visited in order and the first that allows wins: errors met after it do not count."""
    if PRIVILEGED_GROUP in request.groups:
        return Decision(True)
    found = resolve(objects, request.user, request.groups, request.namespace)
    for grant in found.grants:
        if rule_allows(grant.rule, request):
            return Decision(True, f"RBAC: allowed by {grant.source}")
    return Decision(False, f"RBAC: {aggregate(found.errors)}" if found.errors else "")


def allows(objects: Objects, request: Attributes) -> bool:
    return decide(objects, request).allowed
