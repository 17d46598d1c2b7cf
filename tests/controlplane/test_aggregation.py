"""The aggregation layer's parts: APIService validation, request attributes, the identity
headers, backend resolution, the Available condition, discovery of aggregated groups, and the
proxy itself against a real HTTPS backend on loopback that checks the front-proxy certificate.

(End to end through kubectl, with metrics-server behind `v1beta1.metrics.k8s.io` on a real
lab: tests/lab/test_metrics_server.py.)
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from nodelab.controlplane.auth.access import Identity
from nodelab.controlplane.auth.pki import PKI, ensure_pki
from nodelab.controlplane.errors import ApiError
from nodelab.controlplane.http import aggregation, discovery
from nodelab.controlplane.http.availability import (
    AvailabilityChecker,
    Verdict,
    condition,
    with_condition,
)
from nodelab.controlplane.registry.rest import Registry
from nodelab.controlplane.resources import lookup
from nodelab.controlplane.storage.store import Store
from nodelab.controlplane.validation import validate

pytestmark = pytest.mark.unit

SPEC: dict[str, Any] = {"service": {"name": "metrics-server", "namespace": "kube-system",
                                    "port": 443},
                        "group": "metrics.k8s.io", "version": "v1beta1",
                        "insecureSkipTLSVerify": True, "groupPriorityMinimum": 100,
                        "versionPriority": 100}


def _apiservice(name: str = "v1beta1.metrics.k8s.io", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {**SPEC, **spec}}


@pytest.mark.parametrize(("obj", "expected"), [
    (_apiservice(), []),
    (_apiservice("metrics"), [("metadata.name",
                               'Invalid value: "metrics": must be `spec.version+"."+spec.group`: '
                               '"v1beta1.metrics.k8s.io"')]),
    (_apiservice("v2.", group="", version="v2"),
     [("spec.group", "Required value: only v1 may have an empty group and it better be legacy "
                     "kube")]),
    (_apiservice(groupPriorityMinimum=0, versionPriority=1001),
     [("spec.groupPriorityMinimum", "Invalid value: 0: must be positive and less than 20000"),
      ("spec.versionPriority", "Invalid value: 1001: must be positive and less than 1000")]),
    (_apiservice(caBundle=base64.b64encode(b"pem").decode()),
     [("spec.insecureSkipTLSVerify",
       "Invalid value: true: may not be true if caBundle is present")]),
    (_apiservice(service={"namespace": "", "name": ""}),
     [("spec.service.namespace", "Required value"), ("spec.service.name", "Required value")]),
    (_apiservice(service=None), [("spec.insecureSkipTLSVerify", "Invalid value: true: local "
                                  "APIServices may not have insecureSkipTLSVerify")]),
])
def test_apiservice_validation(obj: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    causes = validate("apiregistration.k8s.io/apiservices", obj)
    assert [(c.field, c.message) for c in causes] == expected


@pytest.mark.parametrize(("path", "expected"), [
    ("/apis/metrics.k8s.io/v1beta1", None),
    ("/apis/metrics.k8s.io/v1beta1/nodes", ("", "nodes", "", "", False)),
    ("/apis/metrics.k8s.io/v1beta1/nodes/node1", ("", "nodes", "node1", "", False)),
    ("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
     ("default", "pods", "", "", False)),
    ("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web",
     ("default", "pods", "web", "", False)),
    ("/apis/metrics.k8s.io/v1beta1/watch/pods", ("", "pods", "", "", True)),
])
def test_request_attributes(path: str, expected: tuple[Any, ...] | None) -> None:
    found = aggregation.request_attributes(path)
    assert (None if found is None else (found.namespace, found.resource, found.name,
                                        found.subresource, found.watch_prefix)) == expected


def test_proxy_headers_carry_the_identity_and_drop_credentials() -> None:
    headers = {"authorization": "Bearer secret", "impersonate-user": "bob",
               "x-remote-user": "forged", "accept": "application/json", "host": "x",
               "user-agent": "kubectl"}
    assert aggregation.proxy_headers(Identity("alice", ("dev", "system:authenticated")),
                                     headers) == [
        ("accept", "application/json"), ("user-agent", "kubectl"),
        ("X-Remote-User", "alice"), ("X-Remote-Group", "dev"),
        ("X-Remote-Group", "system:authenticated")]


def test_proxy_headers_carry_the_extras_with_escaped_keys() -> None:
    """Upstream's SetAuthProxyHeaders: one X-Remote-Extra-<key> per value, the key
    %-escaped where a header name may not hold the byte (and `%` itself)."""
    caller = Identity("system:serviceaccount:ns:sa", ("system:serviceaccounts",), "u1",
                      (("authentication.kubernetes.io/pod-name", ("p1",)),
                       ("scopes", ("a", "b")), ("100%", ("x",))))
    extras = [h for h in aggregation.proxy_headers(caller, {"x-remote-extra-forged": "1"})
              if h[0].lower().startswith("x-remote-extra-")]
    assert extras == [("X-Remote-Extra-authentication.kubernetes.io%2Fpod-name", "p1"),
                      ("X-Remote-Extra-scopes", "a"), ("X-Remote-Extra-scopes", "b"),
                      ("X-Remote-Extra-100%25", "x")]


def test_condition_keeps_the_transition_time_while_the_status_holds() -> None:
    first = condition(None, Verdict("False", "MissingEndpoints", "m"), "t1")
    assert first == {"type": "Available", "status": "False", "lastTransitionTime": "t1",
                     "reason": "MissingEndpoints", "message": "m"}
    same = condition(first, Verdict("False", "FailedDiscoveryCheck", "x"), "t2")
    assert same["lastTransitionTime"] == "t1"
    assert condition(same, Verdict("True", "Passed", "all checks passed"),
                     "t3")["lastTransitionTime"] == "t3"
    obj = {"metadata": {"name": "a"}, "status": {"conditions": [first]}}
    assert with_condition(obj, dict(first, lastTransitionTime="t9")) is None
    changed = with_condition(obj, same)
    assert changed is not None and changed["status"]["conditions"] == [same]


def test_discovery_lists_aggregated_groups() -> None:
    resources = [{"name": "nodes", "singularName": "", "namespaced": False,
                  "kind": "NodeMetrics", "verbs": ["get", "list"]},
                 {"name": "pods", "singularName": "", "namespaced": True,
                  "kind": "PodMetrics", "verbs": ["get", "list"]}]
    extra = [discovery.Aggregated("metrics.k8s.io", "v1beta1", 100, 100, resources)]
    groups = discovery.api_groups(extra)["groups"]
    assert groups[-1] == {"name": "metrics.k8s.io", "versions": [
        {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}],
        "preferredVersion": {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}}
    assert discovery.api_group("metrics.k8s.io", extra)["name"] == "metrics.k8s.io"
    items = discovery.aggregated(False, extra)["items"]
    [version] = items[-1]["versions"]
    assert [(r["resource"], r["scope"], r["responseKind"]["kind"])
            for r in version["resources"]] == [("nodes", "Cluster", "NodeMetrics"),
                                               ("pods", "Namespaced", "PodMetrics")]
    not_answered = [discovery.Aggregated("metrics.k8s.io", "v1beta1", 100, 100, None)]
    assert all(i["metadata"]["name"] != "metrics.k8s.io"
               for i in discovery.aggregated(False, not_answered)["items"])


# --- against a real backend on loopback --------------------------------------------------


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        peer = self.request.getpeercert() or {}
        common_name = [v for rdn in peer.get("subject", ()) for k, v in rdn
                       if k == "commonName"]
        body = json.dumps({"path": self.path, "cn": common_name,
                           "user": self.headers.get("X-Remote-User"),
                           "groups": self.headers.get_all("X-Remote-Group"),
                           "authorization": self.headers.get("Authorization"),
                           "kind": "APIResourceList", "resources": [
                               {"name": "nodes", "kind": "NodeMetrics", "namespaced": False,
                                "verbs": ["get", "list"]}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def pki(tmp_path: Path) -> PKI:
    return ensure_pki(tmp_path, ["127.0.0.1"])


@pytest.fixture()
def backend_port(pki: PKI) -> Iterator[int]:
    """An HTTPS server for `metrics-server.kube-system.svc` that demands a client certificate
    from the front-proxy CA (as an aggregated server configured by the ConfigMap does)."""
    serving = pki.serving_credentials("echo", "metrics-server",
                                      ["metrics-server.kube-system.svc"], api_server_names=False)
    pki.front_proxy_client()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(serving.cert), str(serving.key))
    context.load_verify_locations(str(pki.front_proxy_ca))
    context.verify_mode = ssl.CERT_REQUIRED
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _bundle(pki: PKI) -> bytes:
    return pki.ca_cert.read_bytes()


def test_forward_presents_the_front_proxy_certificate_and_identity(pki: PKI,
                                                                   backend_port: int) -> None:
    proxy = pki.front_proxy_client()
    target = aggregation.Backend("127.0.0.1", backend_port, "metrics-server.kube-system.svc",
                                 _bundle(pki))
    response = aggregation.forward(
        target, aggregation.ProxyClient(proxy.cert, proxy.key), "GET",
        "/apis/metrics.k8s.io/v1beta1/nodes?limit=5", b"",
        aggregation.proxy_headers(Identity("alice", ("dev",)),
                                  {"authorization": "Bearer x"}))
    assert response.code == 200 and response.stream is not None
    echoed = json.loads(b"".join(response.stream))
    assert echoed["path"] == "/apis/metrics.k8s.io/v1beta1/nodes?limit=5"
    assert (echoed["cn"], echoed["user"], echoed["groups"], echoed["authorization"]) == (
        ["front-proxy-client"], "alice", ["dev"], None)


def test_forward_refuses_a_backend_certificate_for_another_name(pki: PKI,
                                                                backend_port: int) -> None:
    proxy = pki.front_proxy_client()
    target = aggregation.Backend("127.0.0.1", backend_port, "other.kube-system.svc",
                                 _bundle(pki))
    with pytest.raises(ApiError) as caught:
        aggregation.forward(target, aggregation.ProxyClient(proxy.cert, proxy.key), "GET",
                            "/apis/metrics.k8s.io/v1beta1", b"", [])
    assert caught.value.code == 503 and "error trying to reach service" in caught.value.message


def test_availability_follows_service_endpoints_and_discovery(pki: PKI, backend_port: int,
                                                              tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    registry = Registry(store)
    proxy = pki.front_proxy_client()
    checker = AvailabilityChecker(registry, aggregation.ProxyClient(proxy.cert, proxy.key))
    bundle = base64.b64encode(_bundle(pki)).decode()
    apiservice = _apiservice(insecureSkipTLSVerify=False, caBundle=bundle)
    assert checker.verdict(apiservice) == Verdict(
        "False", "ServiceNotFound", 'service/metrics-server in "kube-system" is not present')
    services, namespaces = lookup("", "v1", "services"), lookup("", "v1", "namespaces")
    assert services is not None and namespaces is not None
    registry.create(namespaces, "", {"metadata": {"name": "kube-system"}}, {})
    registry.create(services, "kube-system", {"metadata": {"name": "metrics-server"}, "spec": {
        "ports": [{"name": "https", "port": 443, "targetPort": "https"}]}}, {})
    assert checker.verdict(apiservice).reason == "MissingEndpoints"
    # loopback endpoints are refused by validation: the test writes the slice to the store
    store.create("discovery.k8s.io/endpointslices", "kube-system", "ms-1", {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "ms-1", "namespace": "kube-system",
                     "labels": {"kubernetes.io/service-name": "metrics-server"}},
        "addressType": "IPv4", "ports": [{"name": "https", "port": backend_port}],
        "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}]})
    assert checker.verdict(apiservice) == Verdict("True", "Passed", "all checks passed")
    assert checker.discovery[("metrics.k8s.io", "v1beta1")][0]["kind"] == "NodeMetrics"
    assert checker.verdict(_apiservice(service=None, insecureSkipTLSVerify=False)).reason \
        == "Local"
    store.close()
