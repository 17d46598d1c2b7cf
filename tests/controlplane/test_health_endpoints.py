"""/healthz, /livez, /readyz as k8s.io/apiserver's healthz package answers them: the pure
answers as a table, then a real API server through HTTPS and kubectl."""

from __future__ import annotations

import http.client
import ssl

import pytest
from kubernetes import client as k8s

from nodelab.controlplane.http import health
from tests.controlplane.apiserver import RunningApiServer
from tests.controlplane.watchclient import admin_context

OK = "ping", "log"


def _checks(failing: str = "") -> list[health.Check]:
    return [health.Check(n, lambda n=n: "broken" if n == failing else "", g)  # type: ignore[misc]
            for n, g in (("ping", ""), ("log", ""), ("etcd", "etcd"),
                         ("etcd-override-0", "etcd"))]


@pytest.mark.unit
@pytest.mark.parametrize(("what", "check_path", "query", "failing", "code", "text"), [
    ("plain", "", {}, "", 200, "ok"),
    ("verbose", "", {"verbose": [""]}, "", 200,
     "[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]etcd-override-0 ok\nreadyz check passed\n"),
    ("a failure is always verbose", "", {}, "etcd", 500,
     "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n[+]etcd-override-0 ok\n"
     "readyz check failed\n"),
    ("excluded by name", "", {"verbose": [""], "exclude": ["log"]}, "", 200,
     "[+]ping ok\n[+]log excluded: ok\n[+]etcd ok\n[+]etcd-override-0 ok\nreadyz check passed\n"),
    ("excluded by name and group, failing or not", "", {"exclude": ["etcd"], "verbose": [""]},
     "etcd-override-0", 200, "[+]ping ok\n[+]log ok\n[+]etcd excluded: ok\n"
     "[+]etcd-override-0 excluded with etcd: ok\nreadyz check passed\n"),
    ("an unknown exclude", "", {"exclude": ["nope", "b\"x"], "verbose": [""]}, "", 200,
     '[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]etcd-override-0 ok\n'
     'warn: some health checks cannot be excluded: no matches for "b\\"x","nope"\n'
     'readyz check passed\n'),
    ("one check", "etcd", {}, "", 200, "ok"),
    ("one failing check", "etcd", {}, "etcd", 500, "internal server error: broken\n"),
])
def test_answers(what: str, check_path: str, query: dict[str, list[str]], failing: str,
                 code: int, text: str) -> None:
    found = health.answer("/readyz", check_path, query, _checks(failing))
    assert found == health.Answer(code, text), what


@pytest.mark.unit
def test_unknown_check_and_endpoint_lists() -> None:
    assert health.answer("/livez", "nope", {}, _checks()) is None
    assert health.split("/readyz/poststarthook/rbac/bootstrap-roles") == (
        "/readyz", "poststarthook/rbac/bootstrap-roles")
    assert health.split("/readyzx") is None
    names = {e: [c.name for c in health.checks_for(e, lambda: "", lambda: True, lambda: False)]
             for e in health.ENDPOINTS}
    hooks = [f"poststarthook/{h}" for h in health.POST_START_HOOKS]
    assert names["/readyz"] == ["ping", "log", "etcd", "etcd-readiness", *hooks, "shutdown"]
    assert names["/livez"] == names["/healthz"] == ["ping", "log", "etcd", *hooks]
    stopping = health.checks_for("/readyz", lambda: "", lambda: False, lambda: True)
    assert health.answer("/readyz", "shutdown", {}, stopping) == health.Answer(
        500, "internal server error: process is shutting down\n")
    assert health.answer("/readyz", hooks[0], {}, stopping) == health.Answer(
        500, "internal server error: not finished\n")


def _get(server: RunningApiServer, path: str, context: ssl.SSLContext | None = None,
         token: str = "") -> tuple[int, str, str]:
    if context is None:
        assert server.pki is not None
        context = ssl.create_default_context(cafile=str(server.pki.ca_cert))
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=context,
                                             timeout=10)
    try:
        connection.request("GET", path,
                           headers={"Authorization": f"Bearer {token}"} if token else {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode()
    finally:
        connection.close()


def test_verbose_lists_the_checks(apiserver: RunningApiServer) -> None:
    code, content_type, text = _get(apiserver, "/readyz?verbose")
    assert (code, content_type) == (200, "text/plain; charset=utf-8")
    assert text.splitlines() == [
        "[+]ping ok", "[+]log ok", "[+]etcd ok", "[+]etcd-readiness ok",
        "[+]poststarthook/bootstrap-controller ok", "[+]poststarthook/rbac/bootstrap-roles ok",
        "[+]poststarthook/scheduling/bootstrap-system-priority-classes ok", "[+]shutdown ok",
        "readyz check passed"]
    assert _get(apiserver, "/livez?verbose&exclude=etcd")[2].splitlines()[2:3] == [
        "[+]etcd excluded: ok"]
    assert _get(apiserver, "/healthz")[:3:2] == (200, "ok")
    out = apiserver.kubectl("get", "--raw", "/healthz?verbose").stdout
    assert out.startswith("[+]ping ok\n") and out.endswith("healthz check passed\n")


def test_single_checks_need_the_monitoring_rights(apiserver: RunningApiServer,
                                                   core: k8s.CoreV1Api) -> None:
    admin = admin_context(apiserver)
    assert _get(apiserver, "/readyz/etcd", admin)[::2] == (200, "ok")
    assert _get(apiserver, "/livez/poststarthook/rbac/bootstrap-roles", admin)[::2] == (200, "ok")
    code, content_type, text = _get(apiserver, "/readyz/no-such-check", admin)
    assert (code, content_type) == (404, "application/json")
    assert '"the server could not find the requested resource"' in text
    assert _get(apiserver, "/readyz/etcd")[0] == 401  # no anonymous requests (docs say so)
    token = core.create_namespaced_service_account_token(
        "default", "default", k8s.AuthenticationV1TokenRequest(spec=k8s.V1TokenRequestSpec(
            audiences=["https://kubernetes.default.svc.cluster.local"],
            expiration_seconds=3600))).status.token
    assert _get(apiserver, "/readyz", token=token)[::2] == (200, "ok")
    code, _, text = _get(apiserver, "/readyz/etcd", token=token)
    assert code == 403
    assert ('forbidden: User \\"system:serviceaccount:default:default\\" cannot get path '
            '\\"/readyz/etcd\\"') in text
