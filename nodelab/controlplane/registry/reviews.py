"""Who am I, and may I: SelfSubjectReview and SelfSubjectAccessReview (and TokenReview).

`kubectl auth whoami` creates an `authentication.k8s.io/v1` SelfSubjectReview and prints the
user and groups the server authenticated; `kubectl auth can-i VERB RESOURCE` creates an
`authorization.k8s.io/v1` SelfSubjectAccessReview. Neither is stored. The answer comes from
the same `auth.authorize` every request goes through (Node, then RBAC), so a node identity
learns exactly what NodeRestriction lets it do and a service account what its bindings give.
`SubjectAccessReview` asks the same for another user; `SelfSubjectRulesReview`
(`kubectl auth can-i --list`) lists the RBAC rules that apply to the caller. `TokenReview`
(`authentication.k8s.io/v1`) says who a bearer token is: what a kubelet (webhook
authentication) and an aggregated API server ask about tokens presented to them.
"""

from __future__ import annotations

from collections.abc import Callable

from nodelab.controlplane import errors
from nodelab.controlplane.auth import rbac
from nodelab.controlplane.auth.access import Identity, pod_lookup
from nodelab.controlplane.auth.node_restriction import node_denial
from nodelab.controlplane.auth.rule_resolver import aggregate, resolve
from nodelab.controlplane.resources import RESOURCES
from nodelab.controlplane.storage.store import Store
from nodelab.kube.objects import Object
from nodelab.kubewire.labels import pinned_value
from nodelab.kubewire.times import now

TokenAuthenticator = Callable[[str, list[str]], tuple[Identity | None, list[str]]]


def self_subject_review(identity: Identity) -> Object:
    return {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": now()},
            "status": {"userInfo": {"username": identity.user,
                                    "groups": list(identity.groups)}}}


def token_review(body: Object, authenticate: TokenAuthenticator) -> Object:
    """`authentication.k8s.io/v1` TokenReview: who `spec.token` names, for `spec.audiences`
    (default: the API server's own), as a kubelet asks in webhook authentication mode. An
    unknown, expired, revoked or foreign-audience token is `authenticated: false`."""
    spec = body.get("spec") or {}
    token = spec.get("token")
    if not isinstance(token, str) or not token:
        raise errors.bad_request("token is required for TokenReview in authentication")
    audiences = [str(a) for a in spec.get("audiences") or []]
    identity, matched = authenticate(token, audiences)
    status: Object = {"authenticated": identity is not None, "user": {}}
    if identity is not None:
        user: Object = {"username": identity.user, "groups": list(identity.groups)}
        if identity.uid:
            user["uid"] = identity.uid
        if identity.extra:
            user["extra"] = {key: list(values) for key, values in identity.extra}
        status.update(user=user, audiences=matched)
    else:
        status["error"] = "[invalid bearer token, token lookup failed]"
    return {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": None}, "spec": spec, "status": status}


def _access(identity: Identity, spec: Object, store: Store) -> tuple[bool, str]:
    """(allowed, reason) for the attributes of an access review: RBAC's reason (the binding
    that allowed, or the roles it could not resolve; kubectl prints `no - <reason>`); a node
    gets the Node authorizer's answer and reason (NodeRestriction, an admission plugin, is not
    asked: upstream's reviews ask the authorizers alone)."""
    paths = spec.get("nonResourceAttributes")
    attributes = spec.get("resourceAttributes") or {}
    verb = (paths or attributes).get("verb", "get")
    plural, group = attributes.get("resource", ""), attributes.get("group", "")
    namespace, name = attributes.get("namespace", ""), attributes.get("name", "")
    subresource = attributes.get("subresource", "")
    if identity.node_name is None:
        decision = rbac.decide(store, rbac.Attributes(
            identity.user, identity.groups, verb, namespace, group, plural, subresource, name,
            path=str((paths or {}).get("path", ""))))
        return decision.allowed, decision.reason
    if paths:
        return True, ""  # the Node authorizer has no opinion; nodes are authenticated
    version = attributes.get("version", "")
    rt = next((r for r in RESOURCES if r.plural == plural and r.group == group
               and (not version or version == "*" or r.version == version)), None)
    if rt is None:
        return False, ""
    denial = node_denial(identity.node_name, verb, rt.storage_key, namespace, name, subresource,
                         None, pod_lookup(store), admission=False,
                         node_selector=_selected_node(verb, attributes.get("fieldSelector")),
                         rbac_allows=lambda: rbac.decide(store, rbac.Attributes(
                             identity.user, identity.groups, verb, namespace, group, plural,
                             subresource, name)).allowed)
    return denial is None, "" if denial is None else denial.reason


def _selected_node(verb: str, selector: object) -> str:
    """The `spec.nodeName` a list or watch in an access review pins through its
    `fieldSelector` (`rawSelector: spec.nodeName=n1`, or a requirement `In` one value), which
    the Node authorizer asks of a node's pod list, as upstream's (AuthorizeWithSelectors)."""
    if verb not in ("list", "watch") or not isinstance(selector, dict):
        return ""
    pinned = pinned_value(str(selector.get("rawSelector") or ""), "spec.nodeName")
    for requirement in selector.get("requirements") or []:
        if not isinstance(requirement, dict):
            continue
        values = requirement.get("values") or []
        if (requirement.get("key") == "spec.nodeName" and requirement.get("operator") == "In"
                and isinstance(values, list) and len(values) == 1):
            pinned = str(values[0])
    return pinned


def _review(kind: str, spec: Object, allowed: bool, why: str) -> Object:
    status: Object = {"allowed": allowed}
    if why:
        status["reason"] = why
    return {"kind": kind, "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": now()}, "spec": spec, "status": status}


def self_subject_access_review(identity: Identity, body: Object, store: Store) -> Object:
    """`kubectl auth can-i VERB RESOURCE` (with `--as`, as the impersonated identity)."""
    spec = body.get("spec") or {}
    allowed, why = _access(identity, spec, store)
    return _review("SelfSubjectAccessReview", spec, allowed, why)


def subject_access_review(body: Object, store: Store) -> Object:
    """May `spec.user` (with `spec.groups`) do this: what the kubelet asks in webhook mode."""
    spec = body.get("spec") or {}
    if not spec.get("user") and not spec.get("groups"):
        raise errors.invalid("SubjectAccessReview", "", "authorization.k8s.io", [errors.Cause(
            "spec.user", "FieldValueRequired",
            "at least one of user or group must be specified")])
    identity = Identity(str(spec.get("user", "")), tuple(spec.get("groups") or ()))
    allowed, why = _access(identity, spec, store)
    return _review("SubjectAccessReview", spec, allowed, why)


def self_subject_rules_review(identity: Identity, body: Object, store: Store) -> Object:
    """`kubectl auth can-i --list`: the rules that apply to the caller in a namespace."""
    spec = body.get("spec") or {}
    found = resolve(store, identity.user, identity.groups, spec.get("namespace", ""))
    rules = found.rules
    resource_rules = [{k: rule[k] for k in ("verbs", "apiGroups", "resources", "resourceNames")
                       if rule.get(k)} for rule in rules if rule.get("resources")]
    url_rules = [{"verbs": rule.get("verbs", []), "nonResourceURLs": rule["nonResourceURLs"]}
                 for rule in rules if rule.get("nonResourceURLs")]
    status: Object = {"resourceRules": resource_rules, "nonResourceRules": url_rules,
                      "incomplete": identity.node_name is not None}
    if found.errors:  # the roles some binding names but that do not exist
        status["evaluationError"] = aggregate(found.errors)
    return {"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": now()}, "spec": spec, "status": status}
