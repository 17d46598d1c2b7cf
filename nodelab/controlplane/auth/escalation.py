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
attempting to grant RBAC permissions not currently held:` then one rule per line, and
`; resolution errors: [...]` when the writer's own bindings name roles that do not exist. A
roleRef of another kind is left to validation (a 422 naming `roleRef.kind`; upstream answers
a 500 from the rule resolver first).
Deletes are not checked (upstream neither). Everything here is a pure function of the stored
RBAC objects and the write.
"""

from __future__ import annotations

from dataclasses import dataclass

from nodelab.controlplane import errors
from nodelab.controlplane.auth import rbac
from nodelab.controlplane.auth.rule_coverage import covers, missing_descriptions
from nodelab.controlplane.auth.rule_resolver import aggregate, resolve, role_ref_rules
from nodelab.kube.objects import Object
from nodelab.kubewire.go_quote import go_quote, go_quote_list

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


def escalation_message(user: str, groups: tuple[str, ...], missing: list[Object],
                       resolution_errors: list[str] | None = None) -> str:
    """`ConfirmNoEscalation`'s text for the rules a user lacks; when resolving the user's own
    rules met errors (a binding of theirs names a missing role), upstream's suffix
    `; resolution errors: [<the errors, aggregated>]`."""
    message = (f"user {go_quote(user)} (groups={go_quote_list(groups)}) is attempting to grant "
               "RBAC permissions not currently held:\n"
               + "\n".join(missing_descriptions(missing)))
    if resolution_errors:
        message += f"; resolution errors: [{aggregate(resolution_errors)}]"
    return message


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


def _escalation(objects: rbac.Objects, write: Write, namespace: str,
                rules: list[Object]) -> errors.ApiError | None:
    """`ConfirmNoEscalation` in `namespace`: the 403 when the writer lacks some of `rules`."""
    held = resolve(objects, write.user, write.groups, namespace, plural=True)
    missing = covers(held.rules, rules)[1]
    if not missing:
        return None
    return forbidden(write.resource, write.name,
                     escalation_message(write.user, write.groups, missing, held.errors))


def role_reference_rules(objects: rbac.Objects, ref: Object, namespace: str) -> list[Object]:
    """`GetRoleReferenceRules` through the registry: the rules of the role a binding names
    (404 when it does not exist)."""
    rules, error = role_ref_rules(objects, ref, namespace, plural=True)
    if error:
        plural = "clusterroles" if ref.get("kind") == "ClusterRole" else "roles"
        raise errors.not_found(plural, str(ref.get("name") or ""), GROUP)
    return rules


def _role_refusal(objects: rbac.Objects, write: Write) -> errors.ApiError | None:
    if _allowed(objects, write, "escalate", write.namespace, write.resource, write.url_name):
        return None
    if only_gc_fields_change(write.obj, write.old):
        return None
    refusal = _escalation(objects, write, write.namespace, list(write.obj.get("rules") or []))
    if refusal is not None:
        return refusal
    aggregates = _aggregates(write.obj) or _aggregates(write.old)
    if (write.resource == "clusterroles" and aggregates
            and _escalation(objects, write, "", FULL_AUTHORITY) is not None):
        return forbidden(write.resource, write.name, AGGREGATION_MESSAGE)
    return None


def _aggregates(role: Object | None) -> bool:
    return bool(((role or {}).get("aggregationRule") or {}).get("clusterRoleSelectors"))


def _binding_refusal(objects: rbac.Objects, write: Write) -> errors.ApiError | None:
    if only_gc_fields_change(write.obj, write.old):
        return None
    ref = write.obj.get("roleRef") or {}
    namespace = write.namespace if write.resource == "rolebindings" else ""
    kinds = {"ClusterRole": "clusterroles"} | ({"Role": "roles"} if namespace else {})
    target = kinds.get(str(ref.get("kind")))
    if target is None:
        return None  # validation refuses the roleRef with every other problem (a 422)
    if _allowed(objects, write, "bind", namespace, target, str(ref.get("name", ""))):
        return None
    try:
        rules = role_reference_rules(objects, ref, namespace)
    except errors.ApiError as exc:
        return exc
    return _escalation(objects, write, namespace, rules)


def refusal(objects: rbac.Objects, write: Write) -> errors.ApiError | None:
    """Why this write would grant more than its writer holds (upstream's error), or None."""
    if rbac.PRIVILEGED_GROUP in write.groups:
        return None
    if write.resource in ROLE_RESOURCES:
        return _role_refusal(objects, write)
    if write.resource in BINDING_RESOURCES:
        return _binding_refusal(objects, write)
    return None
