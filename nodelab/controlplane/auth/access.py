"""Authentication and authorization: who is asking, and may they.

Authentication (401 when nothing matches; anonymous requests are refused):
- a TLS client certificate signed by the lab CA: user = the last CN
  (`kube/certificates/peer_subject.py`, as Go reads a subject), groups = O (the TLS layer has
  already verified the chain);
- a bearer token: the lab's static admin token (`pki/admin.token`) or a service-account JWT
  issued by `tokens.TokenIssuer` whose audiences include the API server's own (upstream's
  `--api-audiences` default, the issuer URL); a token minted for another audience is refused,
  and so is one whose service account (uid) or bound pod (uid) is gone, as upstream.

Authorization is a chain, as kube-apiserver's `--authorization-mode=Node,RBAC`:
- the Node authorizer plus the NodeRestriction admission plugin for `system:node:<name>`
  users (group `system:nodes`), as `node_restriction.py` describes: reads of its own Node, its
  pods (by the `spec.nodeName` fieldSelector) and what the `system:node` rules grant; reads of
  secrets, configMaps, claims and service accounts only through the pods bound to the node, writes
  only to its own Node, Lease and bound pods' status, tokens only for its pods' service
  accounts, no exec/attach/port-forward;
- RBAC (`rbac.py`) for everyone else, and for a node what the Node authorizer has no opinion
  on (a Role bound to it or to `system:nodes`; NodeRestriction still judges the writes):
  `system:masters` may do anything; others what the Roles
  and ClusterRoles bound to them or their groups allow, with upstream's bootstrap policy
  (`bootstrap_policy.py`: a service account starts with discovery and self-reviews only).

Impersonation (`kubectl --as`, `--as-group`) is itself authorized: the requester needs the
`impersonate` verb on `users`, `groups` or `serviceaccounts` (`impersonate`).
"""

from __future__ import annotations

import functools
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from nodelab.controlplane import errors
from nodelab.controlplane.auth import rbac
from nodelab.controlplane.auth.node_restriction import PodLookup, node_denial
from nodelab.controlplane.auth.tokens import AUDIENCE, TokenClaims, TokenIssuer
from nodelab.controlplane.resources import ResourceType
from nodelab.controlplane.storage.store import Store
from nodelab.kube.certificates.peer_subject import peer_subject
from nodelab.kube.objects import Object
from nodelab.kube.pod.references import pod_references

SELF_REVIEWS = ("selfsubjectreviews", "selfsubjectaccessreviews")


@dataclass(frozen=True)
class Identity:
    user: str
    groups: tuple[str, ...]
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def node_name(self) -> str | None:
        if "system:nodes" in self.groups and self.user.startswith("system:node:"):
            return self.user[len("system:node:"):]
        return None


def from_certificate(peer: dict[str, Any] | None) -> Identity | None:
    """Who a verified client certificate names (kube/certificates/peer_subject.py),
    authenticated."""
    subject = peer_subject(peer)
    if subject is None:
        return None
    user, groups = subject
    return Identity(user, (*groups, "system:authenticated"))


def from_token(header: str, admin_token: str, issuer: TokenIssuer,
               store: Store | None = None) -> Identity | None:
    if not header.lower().startswith("bearer "):
        return None
    return authenticate_token(header[7:].strip(), admin_token, issuer, store)[0]


def authenticate_token(token: str, admin_token: str, issuer: TokenIssuer,
                       store: Store | None = None, audiences: list[str] | None = None
                       ) -> tuple[Identity | None, list[str]]:
    """Who a bearer token names, and for which of `audiences` (default: the API server's own)
    it is valid; (None, []) when it names no one for them. A TokenReview asks exactly this."""
    wanted = audiences or [AUDIENCE]
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        # a static token knows no audience: it is valid for the API server's own only
        # (upstream's WrapAudienceAgnosticToken)
        if AUDIENCE not in wanted:
            return None, []
        return Identity("admin", ("system:masters", "system:authenticated")), [AUDIENCE]
    claims = issuer.verify(token)
    if claims is None:
        return None, []
    matched = [a for a in wanted if a in claims.audiences]
    if not matched:
        return None, []  # a token for another audience (a projected `audience: vault`)
    if store is not None and not still_bound(claims, store):
        return None, []
    return Identity(claims.subject, ("system:serviceaccounts",
                                     f"system:serviceaccounts:{claims.namespace}",
                                     "system:authenticated"),
                    claims.service_account_uid, _extra(claims)), matched


def _extra(claims: TokenClaims) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not claims.pod_name:
        return ()
    return (("authentication.kubernetes.io/pod-name", (claims.pod_name,)),
            ("authentication.kubernetes.io/pod-uid", (claims.pod_uid,)))


def still_bound(claims: TokenClaims, store: Store) -> bool:
    """Whether what a service-account token names still exists (upstream's legacy and bound
    token validation): its service account with that uid and, for a token bound to a pod,
    that pod with that uid. A deleted pod's token stops working before it expires."""
    sa = store.get("core/serviceaccounts", claims.namespace, claims.service_account)
    if sa is None or (claims.service_account_uid
                      and sa["metadata"].get("uid") != claims.service_account_uid):
        return False
    if claims.pod_name:
        pod = store.get("core/pods", claims.namespace, claims.pod_name)
        if pod is None or (claims.pod_uid and pod["metadata"].get("uid") != claims.pod_uid):
            return False
    return True


@functools.lru_cache(maxsize=1024)
def _stored_references(body: str) -> Mapping[str, frozenset[str]]:
    """What a stored pod refers to, worked out once per version of the pod: the store keeps
    an unchanged pod's JSON text, the cache's key (every token request and configMap or
    secret read of a kubelet asks about each pod on its node: parsing them all each time was
    half the API server's CPU while 110 pods started; upstream keeps a graph for this)."""
    return MappingProxyType({kind: frozenset(names)
                             for kind, names in pod_references(json.loads(body)).items()})


def pod_lookup(store: Store) -> PodLookup:
    """The pods the node rules ask about, from the store."""
    def references(namespace: str, node: str) -> list[Mapping[str, frozenset[str]]]:
        bodies, _ = store.select_raw(  # the node's pods, chosen by their selector summary
            "core/pods", namespace, keep=lambda s: (s.get("spec") or {}).get("nodeName") == node)
        return [_stored_references(body) for body in bodies]
    def volumes(node: str) -> set[str]:
        bodies, _ = store.select_raw(
            "core/pods", None, keep=lambda s: (s.get("spec") or {}).get("nodeName") == node)
        found = set()
        for body in bodies:
            claims = _stored_references(body)["persistentvolumeclaim"]
            if claims:
                namespace = json.loads(body)["metadata"].get("namespace", "")
                for claim in claims:
                    stored = store.get("core/persistentvolumeclaims", namespace, claim)
                    if stored is not None and (stored.get("spec") or {}).get("volumeName"):
                        found.add(str(stored["spec"]["volumeName"]))
        return found
    return PodLookup(get=lambda namespace, name: store.get("core/pods", namespace, name),
                     references=references, volumes=volumes,
                     node=lambda name: store.get("core/nodes", "", name))


def authorize(identity: Identity, verb: str, rt: ResourceType, namespace: str, name: str,
              subresource: str, store: Store, body: Object | None,
              admission: bool = True, node_selector: str = "") -> None:
    """Raise 403 if `identity` may not do `verb` on the object (the Node authorizer and, unless
    `admission` is False, NodeRestriction for nodes: `node_restriction.py`, each with its own
    text). `name` is the URL's (empty on create), or the `metadata.name` a list or watch's
    fieldSelector pins; `node_selector` the `spec.nodeName` it pins (a node lists its pods)."""
    node = identity.node_name
    if node is None:
        decision = rbac.decide(store, rbac.Attributes(
            identity.user, identity.groups, verb, namespace, rt.group, rt.plural, subresource,
            name))
        if not decision.allowed:
            raise errors.forbidden(identity.user, verb, rt.plural, rt.group, namespace,
                                   decision.reason, name, subresource)
        return
    if rt.plural in SELF_REVIEWS:
        return

    attributes = rbac.Attributes(identity.user, identity.groups, verb, namespace, rt.group,
                                 rt.plural, subresource, name)
    denial = node_denial(node, verb, rt.storage_key, namespace, name, subresource, body,
                         pod_lookup(store), admission, node_selector,
                         rbac_allows=lambda: rbac.decide(store, attributes).allowed)
    if denial is None:
        return
    if denial.stage == "authorizer":
        raise errors.forbidden(identity.user, verb, rt.plural, rt.group, namespace,
                               denial.reason, name, subresource)
    if denial.stage == "missing":
        raise errors.not_found(denial.missing, denial.reason)
    body_name = str(((body or {}).get("metadata") or {}).get("name") or "")
    raise errors.admission_forbidden(rt.plural, rt.group, name or body_name, denial.reason)


def authorize_path(identity: Identity, verb: str, path: str, store: Store) -> None:
    """Raise 403 unless `identity` may `verb` the non-resource URL `path` (`/api`, `/version`)."""
    if identity.node_name is not None:
        return  # nodes are in system:authenticated; the Node authorizer has no opinion here
    decision = rbac.decide(store, rbac.Attributes(identity.user, identity.groups, verb,
                                                  path=path))
    if not decision.allowed:
        raise errors.ApiError(403, "Forbidden", f'forbidden: User "{identity.user}" cannot '
                              f'{verb} path "{path}"'
                              + (f": {decision.reason}" if decision.reason else ""), {})


def impersonate(identity: Identity, headers: dict[str, str], store: Store) -> Identity:
    """The identity `Impersonate-User`/`-Group` ask for, if `identity` may impersonate it."""
    user = headers.get("impersonate-user", "")
    asked_groups = [g.strip() for g in headers.get("impersonate-group", "").split(",")
                    if g.strip()]
    if not user:
        if asked_groups:
            raise errors.ApiError(500, "InternalError", "Internal error occurred: requested "
                                  f"{asked_groups} without impersonating a user")
        return identity
    namespace, _, name = user.removeprefix("system:serviceaccount:").partition(":")
    if user.startswith("system:serviceaccount:") and name:
        checks = [("serviceaccounts", namespace, name)]
        groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
    else:
        checks = [("users", "", user)]
        groups = []
    checks += [("groups", "", group) for group in asked_groups]
    for resource, ns, target in checks:
        decision = rbac.decide(store, rbac.Attributes(identity.user, identity.groups,
                                                      "impersonate", ns, "", resource,
                                                      name=target))
        if not decision.allowed:
            raise errors.forbidden(identity.user, "impersonate", resource, "", ns,
                                   decision.reason, target)
    every = [*asked_groups, *groups]
    if user != "system:anonymous" and "system:authenticated" not in every:
        every.append("system:authenticated")
    return Identity(user, tuple(dict.fromkeys(every)))
