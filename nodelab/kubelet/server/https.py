"""The kubelet server: HTTPS on the node IP, port 10250, for the API server and admins.

Routes (as upstream's `pkg/kubelet/server`):

    GET /healthz                                   "ok"
    GET /pods                                      PodList of this node's pods
    GET /containerLogs/{ns}/{pod}/{container}      follow, tailLines, sinceSeconds, sinceTime,
                                                   timestamps, previous, limitBytes
    GET /stats/summary                             stats/v1alpha1 Summary
    GET /metrics                                   Prometheus text
    GET /metrics/resource                          Prometheus text: resource metrics
    *   /exec/{ns}/{pod}/{container}?command=...   upgraded, proxied to CRI Exec's URL
    *   /attach/{ns}/{pod}/{container}             upgraded, proxied to CRI Attach's URL
    *   /portForward/{ns}/{pod}                    upgraded, proxied to CRI PortForward's URL

Authentication and authorization are upstream's (`auth.py`): a client certificate of the
client CA or a bearer token (TokenReview), 401 otherwise unless anonymous requests are enabled;
then a SubjectAccessReview for `nodes/<subresource>` by path and verb (403 with upstream's
text). The API server reaches this server as `kube-apiserver-kubelet-client`, which kubeadm's
binding makes a `system:kubelet-api-admin`.
"""

from __future__ import annotations

import datetime
import json
import logging
import socket
import ssl
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from nodelab.errors import NodelabError
from nodelab.host.relay import pump
from nodelab.kubelet import container_logs as logs
from nodelab.kubelet.cri import CRIError
from nodelab.kubelet.lookup import NotFound, find_container, find_sandbox
from nodelab.kubelet.server import streaming
from nodelab.kubelet.server.auth import KubeletAuth, api_reviewers
from nodelab.kubelet.server.host import KubeletHost
from nodelab.kubelet.server.streaming import read_head

if TYPE_CHECKING:
    from nodelab.kubelet.server.websocket_client import WebSocketClient

log = logging.getLogger("nodelab.kubelet")
_TRUE = ("1", "true", "True")
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def tls_context(kubelet: KubeletHost) -> ssl.SSLContext:
    config, settings = kubelet.config, kubelet.settings
    pki = Path(settings.state_dir) / "pki"
    if config.tls_cert_file and config.tls_private_key_file:
        cert, key = Path(config.tls_cert_file), Path(config.tls_private_key_file)
    else:
        # cryptography (~15 MiB a process) only when the kubelet makes its own certificate
        from nodelab.kubelet.server import serving_cert

        if config.server_tls_bootstrap:
            cert, key = serving_cert.request_through_csr(kubelet.api, pki,
                                                         kubelet.name, settings.node_ip)
        else:
            cert, key = serving_cert.self_signed(pki, settings.node_ip, kubelet.name)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    if config.client_ca_file:
        context.load_verify_locations(config.client_ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


class KubeletServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, kubelet: KubeletHost) -> None:
        self.kubelet = kubelet
        self.context = tls_context(kubelet)
        self.auth = KubeletAuth(kubelet.config, kubelet.name,
                                *api_reviewers(kubelet.api))
        address = (kubelet.settings.node_ip, kubelet.config.port)
        try:
            super().__init__(address, Handler)
        except OSError as exc:
            raise NodelabError(f"kubelet server cannot listen on {address[0]}:{address[1]}: "
                               f"{exc} (is another kubelet running on this node?)") from exc
        self.started = datetime.datetime.now(datetime.timezone.utc)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        return self.context.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False), address


class Handler(BaseHTTPRequestHandler):
    server: KubeletServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        self.request.settimeout(30)
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            self.request.close()
            raise
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("kubelet server: " + format, *args)

    # --- plumbing --------------------------------------------------------------------------

    def _send(self, code: int, body: bytes | str, content_type: str = "text/plain") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, obj: Any) -> None:
        self._send(200, json.dumps(obj), "application/json")

    def _authorized(self) -> bool:
        auth = self.server.auth
        user = auth.authenticate(self.request.getpeercert(),
                                 self.headers.get("Authorization", ""))
        if user is None:
            self._send(401, "Unauthorized")
            return False
        decision = auth.authorize(user, self.command, unquote(urlsplit(self.path).path))
        if decision.code:
            log.info("kubelet server: %s", decision.message.strip())
            self._send(decision.code, decision.message)
            return False
        return True

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        if self.headers.get("Content-Length", "0").strip() not in ("", "0") or self.headers.get(
                "Transfer-Encoding"):
            self.close_connection = True  # no endpoint takes a body: it is never read
        if not self._authorized():
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        try:
            if parts == ["healthz"]:
                self._send(200, "ok")
            elif parts == ["pods"]:
                self._pods()
            elif parts == ["stats", "summary"]:
                self._json(self.server.kubelet.stats_summary())
            elif parts == ["metrics"]:
                self._send(200, self.server.kubelet.metrics(), PROMETHEUS_TEXT)
            elif parts == ["metrics", "resource"]:
                self._send(200, self.server.kubelet.resource_metrics(), PROMETHEUS_TEXT)
            elif parts[0] == "containerLogs" and len(parts) == 4:
                self._logs(parts[1], parts[2], parts[3], query)
            elif parts[0] in ("exec", "attach") and len(parts) == 4:
                self._stream(parts[0], parts[1], parts[2], parts[3], query)
            elif parts[0] == "portForward" and len(parts) == 3:
                self._stream("portForward", parts[1], parts[2], "", query)
            else:
                self._send(404, "404 page not found")
        except NotFound as exc:
            self._send(404, str(exc))
        except (CRIError, NodelabError) as exc:
            self._send(500, str(exc))

    # --- routes ----------------------------------------------------------------------------

    def _pods(self) -> None:
        kubelet = self.server.kubelet
        body = kubelet.api.list("pods", field_selector=f"spec.nodeName={kubelet.name}")
        body.update(kind="PodList", apiVersion="v1")
        self._json(body)

    def _logs(self, ns: str, pod: str, container: str, query: dict[str, list[str]]) -> None:
        def arg(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        cri = self.server.kubelet.cri
        found = find_container(cri, ns, pod, container, arg("previous") in _TRUE)
        path = Path(cri.container_status(found.id).log_path)
        since = None
        if arg("sinceSeconds"):
            since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
                seconds=int(arg("sinceSeconds") or 0))
        elif arg("sinceTime"):
            since = logs.parse_time(arg("sinceTime") or "")
        timestamps = arg("timestamps") in _TRUE
        tail = int(arg("tailLines") or -1)
        limit_text = arg("limitBytes")
        limit = int(limit_text) if limit_text else None
        if not path.exists():
            text, size = "", 0
        elif tail >= 0 and since is None:  # --tail: read from the end, not the whole file
            text, size = logs.read_tail(path, tail)
        else:
            data = path.read_bytes()
            text, size = data.decode(errors="replace"), len(data)
        out = logs.render(text, timestamps=timestamps, tail_lines=tail if tail >= 0 else None,
                          since=since, limit_bytes=limit)
        if arg("follow") not in _TRUE or limit is not None:
            self._send(200, out)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.request.settimeout(None)
        self._chunk(out.encode())
        self._follow(path, size, found.id, timestamps)
        self.wfile.write(b"0\r\n\r\n")

    def _chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    def _follow(self, path: Path, offset: int, container_id: str, timestamps: bool) -> None:
        cri, carry = self.server.kubelet.cri, ""
        while not self.server.kubelet.stop_event.is_set():
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read()
            offset += len(data)
            text = carry + data.decode(errors="replace")
            complete, _, carry = text.rpartition("\n")
            if complete:
                self._chunk(logs.render(complete + "\n", timestamps=timestamps).encode())
            if not data:
                if cri.container_status(container_id).state != 1:  # not RUNNING
                    return
                time.sleep(0.2)

    def _translate_port_forward(self, ns: str, pod: str) -> None:
        """kubectl speaks SPDY, the runtime WebSocket only: translate (spdy_portforward.py)."""
        # wsproto only when a port-forward needs translating (most kubelets never do)
        from nodelab.kubelet.server.spdy_portforward import Session
        from nodelab.kubelet.server.websocket_client import WebSocketClient

        cri = self.server.kubelet.cri

        def open_port(port: int) -> WebSocketClient:
            sandbox = find_sandbox(cri, ns, pod)
            url = cri.port_forward_url(sandbox.id, [port])
            url += ("&" if "?" in url else "?") + f"ports={port}"
            return WebSocketClient.connect(url, ["v4.channel.k8s.io", "portforward.k8s.io"])

        log.info("port-forward to %s/%s: translating SPDY to the runtime's WebSocket", ns, pod)
        Session(self.request, open_port).run()

    def _stream(self, kind: str, ns: str, pod: str, container: str,
                query: dict[str, list[str]]) -> None:
        cri = self.server.kubelet.cri

        def flag(name: str) -> bool:
            return (query.get(name) or ["false"])[0] in _TRUE

        if kind == "portForward":
            sandbox = find_sandbox(cri, ns, pod)
            ports = [int(p) for v in query.get("ports", []) for p in v.split(",") if p]
            websocket = self.headers.get("Upgrade", "").lower() == "websocket"
            if websocket and not ports:
                # kubectl's WebSocket tunnel (SPDY/3.1+portforward.k8s.io) names no ports;
                # upstream's API server unwraps it, ours passes it on: refuse it, so kubectl
                # falls back to plain SPDY, which carries the port in each stream's headers
                self._send(400, "port-forward over WebSocket needs a ports query; use SPDY")
                return
            url = cri.port_forward_url(sandbox.id, ports)
            if ports and "ports=" not in url:  # upstream streaming servers read the query
                url += ("&" if "?" in url else "?") + "ports=" + ",".join(map(str, ports))
        else:
            found = find_container(cri, ns, pod, container)
            streams = dict(tty=flag("tty"), stdin=flag("stdin") or flag("input"),
                           stdout=flag("stdout") or flag("output"), stderr=flag("stderr"))
            if kind == "exec":
                url = cri.exec_url(found.id, query.get("command", []), **streams)
            else:
                url = cri.attach_url(found.id, **streams)
        runtime, host, path = streaming.connect(url)
        head = streaming.request_head(self.command, path, host, list(self.headers.items()))
        self.request.settimeout(None)
        sock: socket.socket = self.request
        try:
            runtime.sendall(head)
            answer, rest = read_head(runtime)
            refused = b" 101 " not in answer.split(b"\r\n", 1)[0]
            spdy_client = self.headers.get("Upgrade", "").lower().startswith("spdy/3")
            if kind == "portForward" and refused and spdy_client:
                runtime.close()
                self._translate_port_forward(ns, pod)
                return
            sock.sendall(answer + rest)
            pump(sock, runtime)  # a refusal's body, or the stream
        finally:
            runtime.close()
            self.close_connection = True
