"""The kubelet server's authentication and authorization decisions (server/auth.py), as tables.

The reviews are answered by plain functions standing in for the API server here; the real
API server answers them in tests/kubelet/test_server.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.kubelet.config import KubeletConfig
from nodelab.kubelet.server.auth import (
    ANONYMOUS,
    KubeletAuth,
    NodeAttributes,
    ReviewError,
    User,
    forbidden_message,
    request_attributes,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("method", "path", "verb", "subresources"), [
    ("GET", "/stats/summary", "get", ("stats",)),
    ("GET", "/stats", "get", ("stats",)),
    ("GET", "/metrics", "get", ("metrics",)),
    ("GET", "/metrics/resource", "get", ("metrics",)),
    ("GET", "/logs/", "get", ("log",)),
    ("GET", "/metrics/cadvisor", "get", ("metrics",)),
    ("GET", "/logs/messages", "get", ("log",)),
    ("GET", "/pods", "get", ("pods", "proxy")),
    ("GET", "/runningpods/", "get", ("pods", "proxy")),
    ("GET", "/healthz", "get", ("healthz", "proxy")),
    ("GET", "/healthz/syncloop", "get", ("healthz", "proxy")),
    ("GET", "/configz", "get", ("configz", "proxy")),
    ("POST", "/exec/default/web/app", "create", ("proxy",)),
    ("GET", "/exec/default/web/app", "get", ("proxy",)),  # a WebSocket upgrade is a GET
    ("POST", "/attach/default/web/app", "create", ("proxy",)),
    ("POST", "/portForward/default/web", "create", ("proxy",)),
    ("GET", "/containerLogs/default/web/app", "get", ("proxy",)),
    ("GET", "/statsz", "get", ("proxy",)),  # not below /stats
    ("GET", "/podsx", "get", ("proxy",)),
    ("HEAD", "/healthz", "get", ("healthz", "proxy")),
    ("PUT", "/pods", "update", ("pods", "proxy")),
    ("PATCH", "/pods", "patch", ("pods", "proxy")),
    ("DELETE", "/pods", "delete", ("pods", "proxy")),
])
def test_request_attributes(method: str, path: str, verb: str,
                            subresources: tuple[str, ...]) -> None:
    assert request_attributes("n1", method, path) == NodeAttributes(verb, "n1", subresources,
                                                                     path)


def test_forbidden_message_is_upstreams() -> None:
    text = forbidden_message(User("bob"), request_attributes("n1", "GET", "/healthz"))
    assert text == ("Forbidden (user=bob, verb=get, resource=nodes, "
                    "subresource(s)=[healthz proxy])\n")


class FakeApi:
    """Answers TokenReviews from `tokens` and SubjectAccessReviews from `grants`."""

    def __init__(self) -> None:
        self.tokens: dict[str, User] = {}
        self.grants: set[tuple[str, str, str]] = set()  # (user, verb, subresource)
        self.reviews: list[dict[str, Any]] = []
        self.down = False

    def token_review(self, body: dict[str, Any]) -> dict[str, Any]:
        self.reviews.append(body)
        if self.down:
            raise ReviewError("connection refused")
        user = self.tokens.get(body["spec"]["token"])
        if user is None:
            return {"authenticated": False, "user": {}}
        return {"authenticated": True, "user": {"username": user.name,
                                                 "groups": list(user.groups), "uid": "u1"}}

    def access_review(self, body: dict[str, Any]) -> dict[str, Any]:
        self.reviews.append(body)
        if self.down:
            raise ReviewError("connection refused")
        spec, attributes = body["spec"], body["spec"]["resourceAttributes"]
        assert (attributes["resource"], attributes["name"]) == ("nodes", "n1")
        key = (spec["user"], attributes["verb"], attributes["subresource"])
        return {"allowed": key in self.grants}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make(api: FakeApi, clock: Clock | None = None, **config: Any) -> KubeletAuth:
    return KubeletAuth(KubeletConfig(**config), "n1", api.token_review, api.access_review,
                       clock or Clock())


CERT = {"subject": ((("organizationName", "g1"),), (("commonName", "first"),),
                    (("commonName", "alice"),))}


def test_authentication_table() -> None:
    api = FakeApi()
    api.tokens["good"] = User("system:serviceaccount:default:mon", ("system:serviceaccounts",))
    auth = make(api)
    assert auth.authenticate(CERT, "") == User("alice", ("g1",))  # the last CN, as Go reads it
    assert auth.authenticate(CERT, "Bearer good") == User("alice", ("g1",))  # cert first
    assert auth.authenticate(None, "Bearer good") == User(
        "system:serviceaccount:default:mon", ("system:serviceaccounts",), "u1")
    assert auth.authenticate(None, "Bearer bad") is None
    assert auth.authenticate(None, "") is None
    assert auth.authenticate(None, "Basic eDp5") is None
    assert make(api, anonymous_auth=True).authenticate(None, "") == ANONYMOUS
    assert make(api, webhook_authentication=False).authenticate(None, "Bearer good") is None


def test_token_answers_are_cached_for_the_ttl_and_errors_are_not() -> None:
    api, clock = FakeApi(), Clock()
    api.tokens["good"] = User("u")
    auth = make(api, clock, webhook_authentication_cache_ttl=120.0)
    assert auth.authenticate(None, "Bearer good") is not None
    del api.tokens["good"]
    clock.now = 119.0
    assert auth.authenticate(None, "Bearer good") is not None
    clock.now = 121.0
    assert auth.authenticate(None, "Bearer good") is None
    api.down = True
    api.tokens["other"] = User("v")
    assert auth.authenticate(None, "Bearer other") is None  # 401 while the API is down
    api.down = False
    assert auth.authenticate(None, "Bearer other") == User("v", (), "u1")


def test_authorization_tries_the_fine_grained_subresource_then_proxy() -> None:
    api = FakeApi()
    auth = make(api)
    bob = User("bob")
    denied = auth.authorize(bob, "GET", "/healthz")
    assert (denied.code, denied.message) == (403, forbidden_message(
        bob, request_attributes("n1", "GET", "/healthz")))
    api.grants.add(("carol", "get", "healthz"))
    assert auth.authorize(User("carol"), "GET", "/healthz").code == 0
    assert auth.authorize(User("carol"), "POST", "/exec/default/p/c").code == 403
    api.grants.add(("dave", "get", "proxy"))
    assert auth.authorize(User("dave"), "GET", "/pods").code == 0  # proxy covers /pods
    assert auth.authorize(User("dave"), "GET", "/stats/summary").code == 403  # not stats
    assert make(api, authorization_mode="AlwaysAllow").authorize(bob, "POST", "/exec/a/b/c") \
        .code == 0


def test_decisions_are_cached_by_outcome() -> None:
    api, clock = FakeApi(), Clock()
    auth = make(api, clock, authorization_cache_authorized_ttl=300.0,
                authorization_cache_unauthorized_ttl=30.0)
    erin = User("erin")
    assert auth.authorize(erin, "GET", "/stats/summary").code == 403
    api.grants.add(("erin", "get", "stats"))
    clock.now = 29.0
    assert auth.authorize(erin, "GET", "/stats/summary").code == 403  # the "no" is cached
    clock.now = 31.0
    assert auth.authorize(erin, "GET", "/stats/summary").code == 0
    api.grants.clear()
    clock.now = 300.0
    assert auth.authorize(erin, "GET", "/stats/summary").code == 0  # the "yes" is cached
    clock.now = 332.0
    assert auth.authorize(erin, "GET", "/stats/summary").code == 403


def test_a_failed_review_is_a_500_with_upstreams_text() -> None:
    api = FakeApi()
    api.down = True
    decision = make(api).authorize(User("bob"), "GET", "/metrics")
    assert decision.code == 500
    assert decision.message.startswith("Authorization error (user=bob, verb=get, "
                                       "resource=nodes, subresource(s)=[metrics])")
