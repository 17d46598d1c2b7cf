"""metrics-server's HTTPS API: who is asking (the front proxy's headers), may they, and the
metrics.k8s.io/v1beta1 answers.

Authentication is delegated as upstream's `--requestheader-*` options do, from the
`kube-system/extension-apiserver-authentication` ConfigMap: a client certificate issued by
`requestheader-client-ca-file` whose name is in `requestheader-allowed-names` is the API
server's front proxy, and the user is then `X-Remote-User` with the groups of every
`X-Remote-Group` header. Anything else gets 401 (metrics-server would also accept client
certificates of `client-ca-file` and bearer tokens; through the aggregation layer neither
comes). `/livez`, `/readyz` and `/healthz` need no identity (metrics-server's always-allowed
paths: the kubelet's probes). Authorization is a SubjectAccessReview per (user, groups,
request), cached 10 s as the delegating authorizer does.

`/readyz` fails until the storage has two points of some node and some pod, as upstream's
`metric-storage-ready` check; the kubelet then takes the pod out of the Service's endpoints,
and the APIService's Available condition follows.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from nodelab.addons.incluster import InCluster, InClusterError, Reflector
from nodelab.addons.metrics import api
from nodelab.addons.metrics.selectors import SelectorError, field_matcher, label_matcher
from nodelab.addons.metrics.storage import Storage
from nodelab.kubewire.expiring import ExpiringCache

log = logging.getLogger(__name__)
PUBLIC = ("/livez", "/readyz", "/healthz")
AUTHZ_TTL = 10.0
PREFIX = f"/apis/{api.GROUP}/{api.VERSION}"


class RequestHeaderConfig:
    """The front proxy's CA, allowed names and header names, from the ConfigMap."""

    def __init__(self, data: dict[str, str]) -> None:
        self.ca = data.get("requestheader-client-ca-file", "")
        self.allowed_names = json.loads(data.get("requestheader-allowed-names") or "[]")
        self.user_headers = json.loads(data.get("requestheader-username-headers")
                                       or '["X-Remote-User"]')
        self.group_headers = json.loads(data.get("requestheader-group-headers")
                                        or '["X-Remote-Group"]')
        if not self.ca:
            raise InClusterError("extension-apiserver-authentication has no "
                                 "requestheader-client-ca-file: the API server has no front "
                                 "proxy CA")


class MetricsServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], cert: str, key: str,
                 headers: RequestHeaderConfig, client: InCluster, storage: Storage,
                 nodes: Reflector, pods: Reflector) -> None:
        super().__init__(address, Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.load_verify_locations(cadata=headers.ca)
        context.verify_mode = ssl.CERT_OPTIONAL
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.headers_config = headers
        self.client = client
        self.storage = storage
        self.nodes = nodes
        self.pods = pods
        self._decisions: ExpiringCache[tuple[bool, str]] = ExpiringCache()

    def allowed(self, user: str, groups: tuple[str, ...],
                attributes: dict[str, Any]) -> tuple[bool, str]:
        """The SubjectAccessReview's answer: allowed, and the reason it gave."""
        key = (user, groups, json.dumps(attributes, sort_keys=True))
        found, cached = self._decisions.get(key)
        if found and cached is not None:
            return cached
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                  "spec": {"user": user, "groups": list(groups), **attributes}}
        try:
            answer = self.client.post(
                "/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
        except (OSError, InClusterError) as exc:
            log.warning("subject access review failed: %s", exc)
            return False, ""
        result = answer.get("status") or {}
        decision = (bool(result.get("allowed")), str(result.get("reason") or ""))
        self._decisions.put(key, decision, AUTHZ_TTL)
        return decision

    def ready(self) -> bool:
        return self.nodes.synced.is_set() and self.pods.synced.is_set() and self.storage.ready()


class Handler(BaseHTTPRequestHandler):
    server: MetricsServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics-server: " + format, *args)

    def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _identity(self) -> tuple[str, tuple[str, ...]] | None:
        peer = self.request.getpeercert() or {}
        names = [v for rdn in peer.get("subject", ()) for k, v in rdn if k == "commonName"]
        config = self.server.headers_config
        if not names or (config.allowed_names and names[-1] not in config.allowed_names):
            return None
        user = next((self.headers.get(h) for h in config.user_headers if self.headers.get(h)),
                    None)
        if not user:
            return None
        groups = tuple(g for h in config.group_headers for g in self.headers.get_all(h) or [])
        return user, groups

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        if path in PUBLIC:
            healthy = path != "/readyz" or self.server.ready()
            self._send(200 if healthy else 500, "ok" if healthy else
                       "[-]metric-storage-ready failed: not metrics to serve\nreadyz check "
                       "failed", "text/plain; charset=utf-8")
            return
        identity = self._identity()
        if identity is None:
            self._send(401, api.status(401, "Unauthorized", "Unauthorized"))
            return
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            self._serve(path, query, identity)
        except SelectorError as exc:
            self._send(400, api.status(400, "BadRequest", str(exc)))

    def _refuse_method(self) -> None:
        self._send(405, api.status(405, "MethodNotAllowed",
                                   "the server does not allow this method on the requested "
                                   "resource"))

    do_POST = do_PUT = do_PATCH = do_DELETE = _refuse_method  # noqa: N815

    def _authorized(self, identity: tuple[str, tuple[str, ...]],
                    attributes: dict[str, Any]) -> bool:
        allowed, reason = self.server.allowed(identity[0], identity[1], attributes)
        if not allowed:
            self._send(403, api.forbidden(identity[0], attributes, reason))
        return allowed

    def _serve(self, path: str, query: dict[str, str],
               identity: tuple[str, tuple[str, ...]]) -> None:
        parts = [unquote(p) for p in path.split("/") if p]
        if path in (PREFIX, f"/apis/{api.GROUP}"):
            if self._authorized(identity, {"nonResourceAttributes": {
                    "path": path, "verb": "get"}}):
                self._send(200, api.resource_list() if path == PREFIX else api.api_group())
            return
        if parts[:3] != ["apis", api.GROUP, api.VERSION]:
            self._send(404, api.status(404, "NotFound", "the server could not find the "
                                       "requested resource"))
            return
        rest, namespace = parts[3:], ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or rest[0] not in ("nodes", "pods") or len(rest) > 2 or (
                rest[0] == "nodes" and namespace):
            self._send(404, api.status(404, "NotFound", "the server could not find the "
                                       "requested resource"))
            return
        if query.get("watch") in ("1", "true"):
            self._refuse_method()
            return
        resource, name = rest[0], rest[1] if len(rest) == 2 else ""
        verb = "get" if name else "list"
        attributes = {"resourceAttributes": {
            "verb": verb, "group": api.GROUP, "version": api.VERSION, "resource": resource,
            "namespace": namespace, "name": name}}
        if not self._authorized(identity, attributes):
            return
        if resource == "nodes":
            self._nodes(name, query)
        else:
            self._pods(namespace, name, query)

    def _nodes(self, name: str, query: dict[str, str]) -> None:
        keep: Callable[[Any], bool] = label_matcher(query.get("labelSelector", ""))
        keep_fields = field_matcher(query.get("fieldSelector", ""))
        now = time.time_ns()
        items = []
        for node in sorted(self.server.nodes.snapshot(),
                           key=lambda n: n["metadata"]["name"]):
            metadata = node.get("metadata") or {}
            node_name = metadata.get("name", "")
            labels = metadata.get("labels") or {}
            if (name and node_name != name) or not keep(labels) or not keep_fields(
                    {"metadata.name": node_name, "metadata.namespace": ""}):
                continue
            found = self.server.storage.node(node_name)
            if found is not None:
                items.append(api.node_metrics(node_name, labels, found, now))
        if name:
            if items:
                self._send(200, items[0])
            else:
                self._send(404, api.not_found("nodemetrics", name))
            return
        self._send(200, api.listing("NodeMetrics", items))

    def _pods(self, namespace: str, name: str, query: dict[str, str]) -> None:
        keep = label_matcher(query.get("labelSelector", ""))
        keep_fields = field_matcher(query.get("fieldSelector", ""))
        now = time.time_ns()
        items = []
        pods = sorted(self.server.pods.snapshot(), key=lambda p: (
            p["metadata"].get("namespace", ""), p["metadata"]["name"]))
        for pod in pods:
            metadata = pod.get("metadata") or {}
            pod_ns, pod_name = metadata.get("namespace", ""), metadata.get("name", "")
            labels = metadata.get("labels") or {}
            if (namespace and pod_ns != namespace) or (name and pod_name != name):
                continue
            if not keep(labels) or not keep_fields({"metadata.name": pod_name,
                                                    "metadata.namespace": pod_ns}):
                continue
            found = self.server.storage.pod((pod_ns, pod_name))
            if found is not None:
                items.append(api.pod_metrics(pod_ns, pod_name, labels, found[0], found[1],
                                             now))
        if name:
            if items:
                self._send(200, items[0])
            else:
                self._send(404, api.not_found("podmetrics", f"{namespace}/{name}"))
            return
        self._send(200, api.listing("PodMetrics", items))
