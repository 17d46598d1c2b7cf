"""Who may call the kubelet server: bearer tokens and authorization delegated to the API server.

As upstream's kubelet with `authentication.webhook.enabled: true` and `authorization.mode:
Webhook` (kubeadm's and the KubeletConfiguration defaults):

- a request with no client certificate but an `Authorization: Bearer` token is authenticated
  by a `TokenReview` (results cached for `authentication.webhook.cacheTTL`, 2 minutes);
- a caller not in the lab's static lists (`authorizedUsers`/`authorizedGroups`: the API
  server's kubelet client and `system:masters`, admitted without a round trip) is authorized
  by a `SubjectAccessReview` on the node object, as upstream's `GetRequestAttributes`:
  verb from the method (GET get, POST create, PUT update, PATCH patch, DELETE delete), resource
  `nodes`, name the node, subresource by path: `/stats*` stats, `/metrics*` metrics,
  `/logs*` log, anything else proxy. Allowed answers are cached 5 minutes, denials 30
  seconds (`authorization.webhook.cacheAuthorizedTTL`/`cacheUnauthorizedTTL`).

So metrics-server's service account, bound to `system:metrics-server` (get `nodes/metrics`),
may read `/metrics/resource` and nothing else; `nodes/proxy` is what exec and logs need.
`request_attributes` is pure; `DelegatedAuth` asks the API server and caches.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s

log = logging.getLogger("nodelab.kubelet")

VERBS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
         "DELETE": "delete"}
TOKEN_TTL = 120.0
ALLOWED_TTL = 300.0
DENIED_TTL = 30.0


@dataclass(frozen=True)
class Caller:
    user: str
    groups: tuple[str, ...]
    uid: str = ""


@dataclass(frozen=True)
class Attributes:
    verb: str
    subresource: str


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def request_attributes(method: str, path: str) -> Attributes:
    """The node subresource and verb a kubelet request is authorized as (upstream's rule)."""
    verb = VERBS.get(method.upper(), method.lower())
    if _under(path, "/stats"):
        return Attributes(verb, "stats")
    if _under(path, "/metrics"):
        return Attributes(verb, "metrics")
    if _under(path, "/logs"):
        return Attributes(verb, "log")
    return Attributes(verb, "proxy")


class _TTLCache:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._items: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> tuple[bool, Any]:
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] < self._clock():
                self._items.pop(key, None)
                return False, None
            return True, found[1]

    def put(self, key: Any, value: Any, ttl: float) -> None:
        with self._lock:
            if len(self._items) > 4096:
                self._items.clear()
            self._items[key] = (self._clock() + ttl, value)


class DelegatedAuth:
    """TokenReview and SubjectAccessReview through the kubelet's own API client."""

    def __init__(self, api_client: Any, node_name: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.node_name = node_name
        self._authentication = k8s.AuthenticationV1Api(api_client)
        self._authorization = k8s.AuthorizationV1Api(api_client)
        self._tokens = _TTLCache(clock)
        self._decisions = _TTLCache(clock)

    def authenticate(self, token: str) -> Caller | None:
        hit, cached = self._tokens.get(token)
        if hit:
            return cached  # type: ignore[no-any-return]
        review = k8s.V1TokenReview(spec=k8s.V1TokenReviewSpec(token=token))
        try:
            status = self._authentication.create_token_review(review).status
        except Exception as exc:  # the API server unreachable: not cached, 401 now
            log.warning("token review failed: %s", exc)
            return None
        caller = None
        if status is not None and status.authenticated and status.user is not None:
            caller = Caller(status.user.username or "", tuple(status.user.groups or ()),
                            status.user.uid or "")
        self._tokens.put(token, caller, TOKEN_TTL)
        return caller

    def authorize(self, caller: Caller, attributes: Attributes) -> bool:
        key = (caller, attributes)
        hit, cached = self._decisions.get(key)
        if hit:
            return bool(cached)
        review = k8s.V1SubjectAccessReview(spec=k8s.V1SubjectAccessReviewSpec(
            user=caller.user, groups=list(caller.groups), uid=caller.uid or None,
            resource_attributes=k8s.V1ResourceAttributes(
                verb=attributes.verb, resource="nodes", subresource=attributes.subresource,
                name=self.node_name, group="", version="v1")))
        try:
            status = self._authorization.create_subject_access_review(review).status
        except Exception as exc:  # not cached: asked again next time
            log.warning("subject access review failed: %s", exc)
            return False
        allowed = bool(status is not None and status.allowed)
        self._decisions.put(key, allowed, ALLOWED_TTL if allowed else DENIED_TTL)
        return allowed
