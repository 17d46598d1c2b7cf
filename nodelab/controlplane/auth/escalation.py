"""RBAC privilege-escalation prevention: nobody grants rights they do not hold.

As upstream's policy-based storages for roles, clusterroles, rolebindings and
clusterrolebindings (pkg/registry/rbac/*/policybased, escalation_check.go,
validation.ConfirmNoEscalation), on every create and update (patches and apply included)
of those four kinds:

- a member of `system:masters` may write anything (`EscalationAllowed`);
- a Role or ClusterRole is stored when its writer holds the `escalate` verb on that resource
  (`RoleEscalationAuthorized`: the request's namespace and URL name, so none on a create) or
  holds every rule it lists, in the request's namespace (cluster-wide rules only for a
  ClusterRole); setting, changing or removing a ClusterRole's `aggregationRule` needs `*` on
  everything, since it can gather any rule;
- a RoleBinding or ClusterRoleBinding is stored when its writer holds the `bind` verb on the
  role it references (`BindingAuthorized`: `roles` or `clusterroles` by name, in the
  binding's namespace) or holds every rule of that role; a role that does not exist is a 404;
- an update that changes nothing but what the garbage collector writes (ownerReferences and
  finalizers) passes (`IsOnlyMutatingGCFields`).

The refusal is upstream's 403, listing the missing rules compacted (`rule_coverage.py`):
`rolebindings.rbac.authorization.k8s.io "x" is forbidden: user "u" (groups=["g"]) is
attempting to grant RBAC permissions not currently held:` then one rule per line.
Deletes are not checked (upstream neither). Everything here is a pure function of the stored
RBAC objects and the write.
"""

from __future__ import annotations

from dataclasses import dataclass

from nodelab.controlplane import errors
from nodelab.controlplane.auth import rbac
from nodelab.controlplane.auth.rule_coverage import covers, missing_descriptions
from nodelab.kube.go_quote import go_quote, go_quote_list
from nodelab.kube.objects import Object

GROUP = "rbac.authorization.k8s.io"
ROLE_RESOURCES = ("roles", "clusterroles")
BINDING_RESOURCES = ("rolebindings", "clusterrolebindings")
FULL_AUTHORITY: list[Object] = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
                                {"verbs": ["*"], "nonResourceURLs": ["*"]}]
AGGREGATION_MESSAGE = "must have cluster-admin privileges to use the aggregationRule"
# what the garbage collector changes (upstream also lists selfLink, which nodelab never sets)
_GC_FIELDS = ("ownerReferences", "finalizers")
# what the server sets on every write, not the writer
_SERVER_FIELDS = ("resourceVersion", "managedFields", "generation", "uid", "creationTimestamp",
                  "selfLink")


@dataclass(frozen=True)
class Write:
    """One create or update of an RBAC object, as the escalation check sees it."""

    user: str
    groups: tuple[str, ...]
    resource: str  # roles, clusterroles, rolebindings, clusterrolebindings
    namespace: str  # the request's ("" for the cluster-scoped kinds)
    url_name: str  # the name on the URL ("" on a create by POST)
    obj: Object
    old: Object | None = None

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name") or "")


def forbidden(resource: str, name: str, why: str) -> errors.ApiError:
    """`errors.NewForbidden(rbac.Resource(resource), name, err)`."""
    qualified = f"{resource}.{GROUP}"
    subject = f"{qualified} {go_quote(name)}" if name else qualified
    return errors.ApiError(403, "Forbidden", f"{subject} is forbidden: {why}",
                           {"name": name, "group": GROUP, "kind": resource})


def escalation_message(user: str, groups: tuple[str, ...], missing: list[Object]) -> str:
    """`ConfirmNoEscalation`'s text for the rules a user lacks."""
    return (f"user {go_quote(user)} (groups={go_quote_list(groups)}) is attempting to grant "
            "RBAC permissions not currently held:\n" + "\n".join(missing_descriptions(missing)))


def only_gc_fields_change(obj: Object, old: Object | None) -> bool:
    """`IsOnlyMutatingGCFields`: the update changes ownerReferences/finalizers at most."""
    if old is None:
        return False

    def comparable(o: Object) -> Object:
        meta = {k: v for k, v in (o.get("metadata") or {}).items()
                if k not in _GC_FIELDS + _SERVER_FIELDS}
        rest = {k: v for k, v in o.items() if k not in ("metadata", "apiVersion", "kind")}
        return {**rest, "metadata": meta}

    return comparable(obj) == comparable(old)


def _allowed(objects: rbac.Objects, write: Write, verb: str, namespace: str, resource: str,
             name: str) -> bool:
    return rbac.allows(objects, rbac.Attributes(write.user, write.groups, verb, namespace, GROUP,
                                                resource, name=name))


def _missing(objects: rbac.Objects, write: Write, namespace: str,
             rules: list[Object]) -> list[Object]:
    held = rbac.rules_for(objects, write.user, write.groups, namespace)
    return covers(held, rules)[1]


def role_reference_rules(objects: rbac.Objects, ref: Object, namespace: str,
                         binding: Object | None = None) -> list[Object]:
    """`GetRoleReferenceRules`: the rules of the role a binding names (404 when missing, 422
    for a ref of another kind)."""
    kind, name = ref.get("kind"), str(ref.get("name") or "")
    if kind == "ClusterRole":
        cluster_roles = objects.select(rbac.CLUSTER_ROLES)[0]
        for role in cluster_roles:
            if (role.get("metadata") or {}).get("name") == name:
                return rbac.cluster_role_rules(role, cluster_roles)
        raise errors.not_found("clusterroles", name, GROUP)
    if kind == "Role":
        for role in objects.select(rbac.ROLES, namespace)[0] if namespace else []:
            if (role.get("metadata") or {}).get("name") == name:
                return list(role.get("rules") or [])
        raise errors.not_found("roles", name, GROUP)
    raise _unsupported_kind(kind, binding or {})


def _unsupported_kind(kind: object, binding: Object) -> errors.ApiError:
    """What upstream's validation answers for a roleRef of another kind (it runs after the
    escalation check there, which fails on such a ref with an internal error)."""
    value = go_quote(kind if isinstance(kind, str) else "")
    name = str((binding.get("metadata") or {}).get("name") or "")
    return errors.invalid(str(binding.get("kind") or "RoleBinding"), name, GROUP, [errors.Cause(
        "roleRef.kind", "FieldValueNotSupported",
        f'Unsupported value: {value}: supported values: "ClusterRole", "Role"')])


def _role_refusal(objects: rbac.Objects, write: Write) -> errors.ApiError | None:
    if _allowed(objects, write, "escalate", write.namespace, write.resource, write.url_name):
        return None
    if only_gc_fields_change(write.obj, write.old):
        return None
    rules = list(write.obj.get("rules") or [])
    missing = _missing(objects, write, write.namespace, rules)
    if missing:
        return forbidden(write.resource, write.name,
                         escalation_message(write.user, write.groups, missing))
    aggregates = _aggregates(write.obj) or _aggregates(write.old)
    if (write.resource == "clusterroles" and aggregates
            and _missing(objects, write, "", FULL_AUTHORITY)):
        return forbidden(write.resource, write.name, AGGREGATION_MESSAGE)
    return None


def _aggregates(role: Object | None) -> bool:
    return bool(((role or {}).get("aggregationRule") or {}).get("clusterRoleSelectors"))


def _binding_refusal(objects: rbac.Objects, write: Write) -> errors.ApiError | None:
    if only_gc_fields_change(write.obj, write.old):
        return None
    ref = write.obj.get("roleRef") or {}
    namespace = write.namespace if write.resource == "rolebindings" else ""
    target = {"ClusterRole": "clusterroles", "Role": "roles"}.get(str(ref.get("kind")))
    if target and _allowed(objects, write, "bind", namespace, target, str(ref.get("name", ""))):
        return None
    try:
        rules = role_reference_rules(objects, ref, namespace, write.obj)
    except errors.ApiError as exc:
        return exc
    missing = _missing(objects, write, namespace, rules)
    if missing:
        return forbidden(write.resource, write.name,
                         escalation_message(write.user, write.groups, missing))
    return None


def refusal(objects: rbac.Objects, write: Write) -> errors.ApiError | None:
    """Why this write would grant more than its writer holds (upstream's error), or None."""
    if rbac.PRIVILEGED_GROUP in write.groups:
        return None
    if write.resource in ROLE_RESOURCES:
        return _role_refusal(objects, write)
    if write.resource in BINDING_RESOURCES:
        return _binding_refusal(objects, write)
    return None
