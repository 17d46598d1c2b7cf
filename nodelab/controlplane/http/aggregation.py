"""The aggregation layer: requests for an APIService's group/version go to the Service behind it.

As kube-aggregator (inside kube-apiserver) does it:

- an `apiregistration.k8s.io/v1` APIService named `<version>.<group>` with a `spec.service`
  claims `/apis/<group>/<version>` and everything under it; one without a service is *local*
  (served by this server itself);
- the request is authenticated and authorized **here** first (RBAC on the resource the path
  names, e.g. `list nodes.metrics.k8s.io`), then proxied with the caller's identity in the
  front-proxy headers (`X-Remote-User`, one `X-Remote-Group` per group, `X-Remote-Extra-*`),
  over TLS with the front-proxy client certificate (`--proxy-client-cert-file`, CN
  `front-proxy-client`, issued by a CA of its own); the `Authorization` and `Impersonate-*`
  headers are not passed on. The backend trusts the headers because the certificate says a
  front proxy sent them (the `extension-apiserver-authentication` ConfigMap tells it which CA
  and names to accept);
- the backend's certificate is verified against `spec.caBundle` for the name
  `<service>.<namespace>.svc` (or not at all with `insecureSkipTLSVerify`);
- an APIService that is not `Available` answers 503 `service unavailable`, as upstream.

**Where the request goes.** Upstream dials the Service's ClusterIP by default, and an endpoint
address with `--enable-aggregator-routing=true`. A lab's API server runs on the lab gateway,
which has no route to cluster IPs (kube-proxy's rules live in the nodes' namespaces) nor to pod
IPs, so nodelab always routes to an endpoint (`--enable-aggregator-routing=true`): a ready
address of the Service's EndpointSlices, on the port named as the Service's port. The
metrics-server add-on runs with `hostNetwork`, so that address is a node IP the gateway
reaches (docs/addons.md).
"""

from __future__ import annotations

import base64
import http.client
import random
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nodelab.controlplane import errors
from nodelab.controlplane.auth import rbac
from nodelab.controlplane.auth.access import Identity, authorize_path
from nodelab.controlplane.http import routing
from nodelab.controlplane.http.messages import Request, Response
from nodelab.controlplane.storage.store import Store
from nodelab.kube.objects import Object

APISERVICES = "apiregistration.k8s.io/apiservices"
_DROPPED = {"authorization", "host", "content-length", "connection", "upgrade",
            "transfer-encoding", "keep-alive", "proxy-connection", "te", "trailer"}


@dataclass(frozen=True)
class Backend:
    host: str
    port: int
    server_name: str  # <service>.<namespace>.svc: what the certificate must name
    ca_bundle: bytes | None  # PEM; None with insecureSkipTLSVerify


@dataclass(frozen=True)
class ProxyClient:
    """The front-proxy client certificate (absent in tests that proxy nothing)."""

    cert: Path | None = None
    key: Path | None = None


def group_version(path: str) -> tuple[str, str] | None:
    """The (group, version) of an `/apis/<group>/<version>[/...]` path."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "apis":
        return parts[1], parts[2]
    return None


def apiservice_for(store: Store, path: str) -> Object | None:
    """The service-backed APIService that claims `path` (None: served here, or no such API)."""
    found = group_version(path)
    if found is None:
        return None
    group, version = found
    obj = store.get(APISERVICES, "", f"{version}.{group}")
    if obj is None or not (obj.get("spec") or {}).get("service"):
        return None
    return obj


def is_available(apiservice: Object) -> bool:
    return any(c.get("type") == "Available" and c.get("status") == "True"
               for c in (apiservice.get("status") or {}).get("conditions") or [])


@dataclass(frozen=True)
class RequestAttributes:
    """What an aggregated resource path names (kube-apiserver's RequestInfo for it)."""

    namespace: str
    resource: str
    name: str
    subresource: str
    watch_prefix: bool


def request_attributes(path: str) -> RequestAttributes | None:
    """None for the group/version's own discovery document (`/apis/<group>/<version>`)."""
    parts = [p for p in path.split("/") if p][3:]
    watch = bool(parts) and parts[0] == "watch"
    if watch:
        parts = parts[1:]
    if not parts:
        return None
    namespace = ""
    if parts[0] == "namespaces" and len(parts) >= 3:
        namespace, parts = parts[1], parts[2:]
    return RequestAttributes(namespace, parts[0], parts[1] if len(parts) > 1 else "",
                             parts[2] if len(parts) > 2 else "", watch)


def proxy_headers(identity: Identity, headers: dict[str, str]) -> list[tuple[str, str]]:
    """The client's headers less credentials and hop-by-hop ones, plus the identity."""
    kept = [(k, v) for k, v in headers.items()
            if k not in _DROPPED and not k.startswith("impersonate-")
            and not k.startswith("x-remote-")]
    kept.append(("X-Remote-User", identity.user))
    kept += [("X-Remote-Group", group) for group in identity.groups]
    kept += [(f"X-Remote-Extra-{header_key_escape(key)}", value)
             for key, values in identity.extra for value in values]
    return kept


_TOKEN = frozenset("!#$&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def header_key_escape(key: str) -> str:
    """An extra's key as a header name: bytes that may not stand in one, and `%`, become
    `%XX` (upstream's transport.headerKeyEscape; the backend path-unescapes it)."""
    return "".join(chr(b) if chr(b) in _TOKEN else f"%{b:02X}" for b in key.encode())


def backend(store: Store, apiservice: Object) -> Backend:
    """Where the APIService's Service has a ready endpoint (503 when it has none)."""
    spec = apiservice.get("spec") or {}
    ref = spec.get("service") or {}
    namespace, name = str(ref.get("namespace", "")), str(ref.get("name", ""))
    port = int(ref.get("port") or 443)
    service = store.get("core/services", namespace, name)
    if service is None:
        raise unavailable(f'service/{name} in "{namespace}" is not present')
    service_port = next((p for p in (service.get("spec") or {}).get("ports") or []
                         if p.get("port") == port), None)
    if service_port is None:
        raise unavailable(f'service/{name} in "{namespace}" is not listening on port {port}')
    port_name = service_port.get("name", "")
    choices: list[tuple[str, int]] = []
    for endpoint_slice in store.select("discovery.k8s.io/endpointslices", namespace)[0]:
        labels = (endpoint_slice.get("metadata") or {}).get("labels") or {}
        if labels.get("kubernetes.io/service-name") != name:
            continue
        number = next((p.get("port") for p in endpoint_slice.get("ports") or []
                       if p.get("name", "") == port_name), None)
        for endpoint in endpoint_slice.get("endpoints") or []:
            if number and (endpoint.get("conditions") or {}).get("ready", True):
                choices += [(address, int(number)) for address in endpoint.get("addresses", [])]
    if not choices:
        raise unavailable(f'endpoints for service/{name} in "{namespace}" have no addresses '
                          f'with port name "{port_name}"')
    host, number = random.choice(choices)
    bundle = spec.get("caBundle")
    ca = None if spec.get("insecureSkipTLSVerify") else base64.b64decode(bundle or "")
    return Backend(host, number, f"{name}.{namespace}.svc", ca)


def unavailable(message: str) -> errors.ApiError:
    return errors.ApiError(503, "ServiceUnavailable", message)


def tls_context(target: Backend, client: ProxyClient) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if target.ca_bundle is None:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif target.ca_bundle:
        context.load_verify_locations(cadata=target.ca_bundle.decode(errors="replace"))
    else:  # no caBundle and verification on: the system's roots, as Go's default
        context.load_default_certs()
    if client.cert and client.key:
        context.load_cert_chain(str(client.cert), str(client.key))
    return context


def connect(target: Backend, client: ProxyClient, timeout: float = 30
            ) -> http.client.HTTPSConnection:
    return _Connection(target, tls_context(target, client), timeout)


class _Connection(http.client.HTTPSConnection):
    """HTTPS to an endpoint address, verifying the certificate for the Service's name."""

    def __init__(self, target: Backend, context: ssl.SSLContext, timeout: float) -> None:
        super().__init__(target.host, target.port, context=context, timeout=timeout)
        self._server_name = target.server_name
        self._context = context

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._server_name)


def forward(target: Backend, client: ProxyClient, method: str, url: str, body: bytes,
            headers: list[tuple[str, str]]) -> Response:
    """Send the request to the backend; its answer (any status) is streamed back."""
    connection = connect(target, client)
    try:
        connection.putrequest(method, url, skip_accept_encoding=True)
        for key, value in headers:
            connection.putheader(key, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        answer = connection.getresponse()
    except (OSError, ssl.SSLError) as exc:
        connection.close()
        raise unavailable(f"error trying to reach service: {exc}") from exc
    if connection.sock is not None:
        connection.sock.settimeout(None)

    def chunks() -> Iterator[bytes]:
        try:
            while data := answer.read1(65536):
                yield data
        finally:
            connection.close()

    return Response(answer.status, stream=chunks(),
                    content_type=answer.getheader("Content-Type", "application/json"))


def authorize_and_forward(store: Store, client: ProxyClient, apiservice: Object, path: str,
                          request: Request, identity: Identity) -> Response:
    """Authorize here (as kube-apiserver does before its proxy handler), then proxy to the
    APIService's Service."""
    spec = apiservice.get("spec") or {}
    group = str(spec.get("group", ""))
    attributes = request_attributes(path)
    if attributes is None:
        authorize_path(identity, routing.path_verb(request.method), path, store)
    else:
        verb = routing.request_verb(request.method, attributes.name, request.query,
                                    attributes.watch_prefix)
        decision = rbac.decide(store, rbac.Attributes(
            identity.user, identity.groups, verb, attributes.namespace, group,
            attributes.resource, attributes.subresource, attributes.name))
        if not decision.allowed:
            raise errors.forbidden(identity.user, verb, attributes.resource, group,
                                   attributes.namespace, decision.reason, attributes.name,
                                   attributes.subresource)
    if not is_available(apiservice):
        raise unavailable("service unavailable")
    target = backend(store, apiservice)
    return forward(target, client, request.method, request.target, request.body,
                   proxy_headers(identity, request.headers))
