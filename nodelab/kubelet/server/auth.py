"""Who may use the kubelet's port 10250, decided as upstream's kubelet decides it.

Authentication (`authentication` in the kubelet config; pkg/kubelet/server/auth.go and the
delegating authenticator):
- a TLS client certificate verified against `x509.clientCAFile` names the user (its last CN)
  and groups (its O values);
- else a bearer token, when `webhook.enabled`: the kubelet asks the API server with a
  `TokenReview` (audiences: the API server's own) and caches the answer for `webhook.cacheTTL`;
- else, only when `anonymous.enabled`, the request is `system:anonymous` in
  `system:unauthenticated`; otherwise it gets 401 `Unauthorized`.

Authorization (`authorization.mode`): `AlwaysAllow`, or `Webhook`: a `SubjectAccessReview`
per request, for the attributes `request_attributes` computes from the method and path
(answers cached `webhook.cacheAuthorizedTTL` / `cacheUnauthorizedTTL`):

| path | resource | subresource(s), in order |
|---|---|---|
| /stats/* | nodes | stats |
| /metrics/* | nodes | metrics |
| /logs/* | nodes | log |
| /pods, /runningpods/ | nodes | pods, then proxy |
| /healthz | nodes | healthz, then proxy |
| /configz | nodes | configz, then proxy |
| anything else (/exec, /attach, /portForward, /containerLogs, ...) | nodes | proxy |

The verb comes from the method (POST create, GET/HEAD get, PUT update, PATCH patch, DELETE
delete), the name is the node's own. The fine-grained subresources of the last three rows
(KubeletFineGrainedAuthz, GA in 1.36) are tried first, `proxy` after. A refusal is 403 with
upstream's text, `Forbidden (user=U, verb=V, resource=nodes, subresource(s)=[S ...])`; a
review that fails is 500 `Authorization error (...)`.

`request_attributes` and `forbidden_message` are pure; `KubeletAuth` only asks the API and
caches.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nodelab.kube.certificates.peer_subject import peer_subject
from nodelab.kube.resources import path
from nodelab.kube.restclient import ApiAccess, RestError
from nodelab.kubelet.config import KubeletConfig
from nodelab.kubewire.expiring import ExpiringCache

log = logging.getLogger("nodelab.kubelet")

REVIEW_TIMEOUT = 10.0  # seconds for one TokenReview or SubjectAccessReview
ANONYMOUS_USER = "system:anonymous"
UNAUTHENTICATED_GROUP = "system:unauthenticated"
VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
         "DELETE": "delete"}
_FINE_GRAINED = (("/pods", "pods"), ("/runningpods", "pods"), ("/healthz", "healthz"),
                 ("/configz", "configz"))
_COARSE = (("/stats", "stats"), ("/metrics", "metrics"), ("/logs", "log"))


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


ANONYMOUS = User(ANONYMOUS_USER, (UNAUTHENTICATED_GROUP,))


@dataclass(frozen=True)
class NodeAttributes:
    """What a request to the kubelet is, for authorization: `verb` on `nodes/<sub>` named
    `node`, for each of `subresources` in the order they are tried."""

    verb: str
    node: str
    subresources: tuple[str, ...]
    path: str


def _is_subpath(path: str, prefix: str) -> bool:
    """upstream's isSubpath: `path` is `prefix` or below it (a `/` follows)."""
    prefix = prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


def request_attributes(node: str, method: str, path: str) -> NodeAttributes:
    """The authorization attributes of `method path` on the kubelet of `node`."""
    verb = VERBS.get(method.upper(), "")
    for prefix, subresource in _COARSE:
        if _is_subpath(path, prefix):
            return NodeAttributes(verb, node, (subresource,), path)
    for prefix, subresource in _FINE_GRAINED:
        if _is_subpath(path, prefix):
            return NodeAttributes(verb, node, (subresource, "proxy"), path)
    return NodeAttributes(verb, node, ("proxy",), path)


def _go_list(values: tuple[str, ...]) -> str:
    return "[" + " ".join(values) + "]"


def forbidden_message(user: User, attributes: NodeAttributes) -> str:
    return (f"Forbidden (user={user.name}, verb={attributes.verb}, resource=nodes, "
            f"subresource(s)={_go_list(attributes.subresources)})\n")


def authorization_error_message(user: User, attributes: NodeAttributes) -> str:
    return (f"Authorization error (user={user.name}, verb={attributes.verb}, resource=nodes, "
            f"subresource(s)={_go_list(attributes.subresources)})\n")


def user_from_certificate(peer: Mapping[str, Any] | None) -> User | None:
    """The user a verified client certificate names (kube/certificates/peer_subject.py)."""
    subject = peer_subject(peer)
    return None if subject is None else User(*subject)


def subject_access_review(user: User, attributes: NodeAttributes, subresource: str
                          ) -> dict[str, Any]:
    """The SubjectAccessReview body the kubelet sends for one subresource."""
    spec: dict[str, Any] = {
        "user": user.name, "groups": list(user.groups),
        "resourceAttributes": {"verb": attributes.verb, "group": "", "version": "v1",
                               "resource": "nodes", "subresource": subresource,
                               "name": attributes.node}}
    if user.uid:
        spec["uid"] = user.uid
    if user.extra:
        spec["extra"] = {key: list(values) for key, values in user.extra}
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": spec}


class ReviewError(Exception):
    """The API server could not answer a review (down, refused the kubelet, ...)."""


@dataclass(frozen=True)
class Decision:
    code: int  # 0: allowed, else the HTTP status to answer with
    message: str = ""


Reviewer = Callable[[dict[str, Any]], dict[str, Any]]  # POST a review, get its status


class KubeletAuth:
    """Authenticates and authorizes requests to one kubelet's server (see the module doc).
    `token_review` and `access_review` send a review body to the API server and return the
    answered object's `status` (raising `ReviewError` when there is none)."""

    def __init__(self, config: KubeletConfig, node: str, token_review: Reviewer,
                 access_review: Reviewer, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.node = node
        self._token_review = token_review
        self._access_review = access_review
        self._tokens: ExpiringCache[User | None] = ExpiringCache(clock)
        self._decisions: ExpiringCache[bool] = ExpiringCache(clock)

    def authenticate(self, peer: Mapping[str, Any] | None, authorization: str) -> User | None:
        """The requester, or None (answer 401)."""
        user = user_from_certificate(peer)
        if user is not None:
            return user
        if authorization[:7].lower() == "bearer " and self.config.webhook_authentication:
            token = authorization[7:].strip()
            if token:
                return self._user_of_token(token)
        if self.config.anonymous_auth:
            return ANONYMOUS
        return None

    def _user_of_token(self, token: str) -> User | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        found, cached = self._tokens.get(key)
        if found:
            return cached if isinstance(cached, User) else None
        try:
            status = self._token_review({
                "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                "spec": {"token": token}})
        except ReviewError as exc:
            log.warning("Unable to authenticate the request due to an error: %s", exc)
            return None  # not cached: the next request asks again
        user = None
        if status.get("authenticated"):
            info = status.get("user") or {}
            user = User(str(info.get("username", "")), tuple(info.get("groups") or ()),
                        str(info.get("uid") or ""),
                        tuple((str(k), tuple(v or ())) for k, v in
                              (info.get("extra") or {}).items()))
        self._tokens.put(key, user, self.config.webhook_authentication_cache_ttl)
        return user

    def authorize(self, user: User, method: str, path: str) -> Decision:
        """Allowed (code 0), or 403/500 with upstream's message."""
        if self.config.authorization_mode == "AlwaysAllow":
            return Decision(0)
        attributes = request_attributes(self.node, method, path)
        for subresource in attributes.subresources:
            key = (user, attributes.verb, subresource)
            found, allowed = self._decisions.get(key)
            if not found:
                try:
                    status = self._access_review(
                        subject_access_review(user, attributes, subresource))
                except ReviewError as exc:
                    log.error("%s: %s", authorization_error_message(user, attributes).strip(),
                              exc)
                    return Decision(500, authorization_error_message(user, attributes))
                allowed = bool(status.get("allowed")) and not status.get("denied")
                self._decisions.put(key, allowed,
                                    self.config.authorization_cache_authorized_ttl if allowed
                                    else self.config.authorization_cache_unauthorized_ttl)
            if allowed:
                return Decision(0)
        return Decision(403, forbidden_message(user, attributes))


def api_reviewers(api: ApiAccess) -> tuple[Reviewer, Reviewer]:
    """TokenReview and SubjectAccessReview senders on the kubelet's own API client."""

    def send(plural: str, kind: str) -> Reviewer:
        def review(body: dict[str, Any]) -> dict[str, Any]:
            try:
                answer = api.request("POST", path(plural), body, timeout=REVIEW_TIMEOUT)
            except RestError as exc:
                raise ReviewError(f"{kind}: {exc.status} {exc.reason}") from exc
            except Exception as exc:  # noqa: BLE001 - connection errors of every kind
                raise ReviewError(f"{kind}: {exc}") from exc
            status = answer.get("status")
            if not isinstance(status, dict):
                raise ReviewError(f"{kind}: the answer has no status")
            return status

        return review

    return (send("tokenreviews", "TokenReview"),
            send("subjectaccessreviews", "SubjectAccessReview"))
