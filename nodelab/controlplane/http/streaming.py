"""The streaming proxies: pods/log, pods/exec, pods/attach, pods/portforward -> the kubelet.

kube-apiserver does not run containers; it finds the pod's node, and forwards the request to
that node's kubelet (`status.daemonEndpoints.kubeletEndpoint.Port`, 10250 by default, at the
node's InternalIP), authenticating with a client certificate. With
`--kubelet-certificate-authority` (what a lab sets: the cluster CA, which signs every kubelet's
serving certificate, directly or through the CSR API) the kubelet's certificate must be
signed by it for the node's address; without it, as upstream, it is not verified:

    pods/log         -> GET /containerLogs/{ns}/{pod}/{container}?follow=...   (streamed back)
    pods/exec        -> /exec/{ns}/{pod}/{container}?command=...&stdin=...     (upgraded)
    pods/attach      -> /attach/{ns}/{pod}/{container}?...                     (upgraded)
    pods/portforward -> /portForward/{ns}/{pod}?ports=...                      (upgraded)

The upgraded ones are WebSocket (`v5.channel.k8s.io`, kubectl >= 1.30; the SPDY upgrade is
forwarded the same way): the client's request is replayed to the kubelet with the path
rewritten, and from then on bytes are copied both ways, unchanged, until either side closes,
which is what upstream's UpgradeAwareHandler does. The WebSocket framing, channel bytes and
close semantics are end-to-end between kubectl and the kubelet.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from nodelab.controlplane import errors
from nodelab.controlplane.http.kubelet_connection import KubeletClient, Tunnel
from nodelab.controlplane.http.messages import Response
from nodelab.kube.objects import Object

if TYPE_CHECKING:
    from nodelab.controlplane.registry.rest import Registry


DEFAULT_KUBELET_PORT = 10250
LOG_PARAMS = ("follow", "previous", "sinceSeconds", "sinceTime", "timestamps", "tailLines",
              "limitBytes", "insecureSkipTLSVerifyBackend", "stream")
KUBELET_CLIENT = KubeletClient()  # set by the API server at start (--kubelet-client-*)
_HOP_HEADERS = {"host", "authorization", "content-length", "accept-encoding"}


def _kubelet(registry: Registry, namespace: str, name: str) -> tuple[Object, str, int]:
    pod = registry.store.get("core/pods", namespace, name)
    if pod is None:
        raise errors.not_found("pods", name)
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        raise errors.bad_request(f"pod {name} does not have a host assigned")
    node = registry.store.get("core/nodes", "", node_name)
    if node is None:
        raise errors.not_found("nodes", node_name)
    host, port = _node_endpoint(node, node_name)
    return pod, host, port


def _node_endpoint(node: Object, node_name: str) -> tuple[str, int]:
    node_status = node.get("status") or {}
    addresses = {a.get("type"): a.get("address") for a in node_status.get("addresses") or []}
    host = addresses.get("InternalIP") or addresses.get("Hostname") or node_name
    port = int(((node_status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {})
               .get("Port") or DEFAULT_KUBELET_PORT)
    return host, port


def _container(pod: Object, query: dict[str, list[str]]) -> str:
    wanted = (query.get("container") or [""])[0]
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    if wanted:
        return wanted
    if len(names) == 1:
        return str(names[0])
    name = pod["metadata"]["name"]
    raise errors.bad_request(f"a container name must be specified for pod {name}, choose one "
                             f"of: [{' '.join(str(n) for n in names)}]")


def respond(registry: Registry, sub: str, namespace: str, name: str, target: str,
            headers: dict[str, str], query: dict[str, list[str]], method: str,
            client: KubeletClient | None = None) -> Response:

    client = client or KUBELET_CLIENT  # read now: the API server sets it at start

    pod, host, port = _kubelet(registry, namespace, name)
    ns, pod_name = quote(namespace), quote(name)
    if sub == "portforward":
        path = f"/portForward/{ns}/{pod_name}"
        params = [(k, v) for k in ("ports",) for v in query.get(k, [])]
    else:
        container = quote(_container(pod, query))
        prefix = {"log": "containerLogs", "exec": "exec", "attach": "attach"}[sub]
        path = f"/{prefix}/{ns}/{pod_name}/{container}"
        keys = LOG_PARAMS if sub == "log" else ("command", "stdin", "stdout", "stderr", "tty")
        params = [(k, v) for k in keys for v in query.get(k, [])]
    url = path + (f"?{urlencode(params)}" if params else "")
    if sub == "log":
        return _log(host, port, url, client)
    if "upgrade" not in headers.get("connection", "").lower():
        raise errors.bad_request(f"pods/{sub} needs an upgraded connection (WebSocket "
                                 "v5.channel.k8s.io or SPDY)")
    lines = [f"{method} {url} HTTP/1.1", f"Host: {host}:{port}"]
    for key, value in headers.items():
        if key in _HOP_HEADERS:
            continue
        # kubectl offers each stream protocol on its own line; keep them on their own lines
        values = value.split(",") if key == "x-stream-protocol-version" else [value]
        lines += [f"{key}: {v.strip()}" for v in values]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return Response(101, tunnel=Tunnel(host, port, head, client))


def node_proxy(registry: Registry, node_name: str, path: str, target: str, method: str,
               body: bytes, client: KubeletClient | None = None) -> Response:
    """`nodes/{name}/proxy/{path}`: any request passed to that node's kubelet, answer streamed
    back (`kubectl get --raw /api/v1/nodes/node1/proxy/stats/summary`)."""
    node = registry.store.get("core/nodes", "", node_name)
    if node is None:
        raise errors.not_found("nodes", node_name)
    host, port = _node_endpoint(node, node_name)
    query = target.split("?", 1)[1] if "?" in target else ""
    # the path was decoded for routing; escaped again as Go's URL.EscapedPath does
    url = quote(path or "/", safe="/$&+,:;=@") + (f"?{query}" if query else "")
    return _forward(host, port, method, url, body, client or KUBELET_CLIENT)


def _log(host: str, port: int, url: str, client: KubeletClient) -> Response:
    return _forward(host, port, "GET", url, b"", client, "text/plain")


def _forward(host: str, port: int, method: str, url: str, body: bytes, client: KubeletClient,
             content_type: str = "") -> Response:

    connection = http.client.HTTPSConnection(host, port, context=client.context(), timeout=30)
    try:
        connection.request(method, url, body=body or None)
        answer = connection.getresponse()
    except OSError as exc:
        connection.close()
        raise errors.ApiError(502, "InternalError",
                              f"error dialing kubelet {host}:{port}: {exc}") from exc
    if answer.status != 200:
        text = answer.read().decode(errors="replace")
        connection.close()
        raise errors.ApiError(answer.status if answer.status >= 400 else 500, "BadRequest",
                              text.strip() or f"kubelet answered {answer.status}")
    if connection.sock is not None:
        connection.sock.settimeout(None)

    def chunks() -> Iterator[bytes]:
        try:
            while True:
                data = answer.read1(65536)
                if not data:
                    return
                yield data
        finally:
            connection.close()

    return Response(200, stream=chunks(),
                    content_type=content_type or answer.getheader("Content-Type", "text/plain"))
