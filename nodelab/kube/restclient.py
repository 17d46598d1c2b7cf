"""A small REST client built from a kubeconfig, on the standard library alone.

The official Python client imports about 650 modules (every generated API class and model) and
costs about 50 MiB in each process that imports it. kube-proxy needs three requests: list and
watch Services and EndpointSlices, and post an Event. This client makes those with
`http.client` and `ssl`, configured as client-go's `clientcmd` reads a kubeconfig: the current
context's cluster (`server`, `certificate-authority(-data)`, `tls-server-name`,
`insecure-skip-tls-verify`) and user (`client-certificate(-data)` + `client-key(-data)`,
`token`, `tokenFile`). A setting it does not implement (exec plugins, auth providers,
username/password, impersonation, proxies, a server URL with a path) is refused by name rather
than ignored; `client_for` then falls back to the official client, which implements them, behind
the same two methods. A CA together with `insecure-skip-tls-verify` is an error, as in client-go.

`lister(kind)` has the calling convention of the official client's `list_*_for_all_namespaces`
with `_preload_content=False`, as `nodelab.kube.reflector.Reflector` calls it: one function
that lists (the response's `.data`) or, with `watch=True`, streams watch events (`.stream()`).
The other requests go through `request` and the verbs of `nodelab.kube.verbs.ResourceVerbs`
(get, list, create, patch, replace, delete). A non-2xx answer raises `RestError` with the
status, like the official `ApiException`; behind `client_for` the official client raises
`RestError` too, so a daemon catches one error type whichever client it got.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import logging
import os
import socket
import ssl
from abc import abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from nodelab.errors import NodelabError
from nodelab.kube.connections import CLOSED_BY_SERVER, REPLAYABLE, ConnectionPool
from nodelab.kube.resources import RESOURCES, path
from nodelab.kube.verbs import ResourceVerbs

QUERY_NAMES = {
    "watch": "watch",
    "resource_version": "resourceVersion",
    "timeout_seconds": "timeoutSeconds",
    "allow_watch_bookmarks": "allowWatchBookmarks",
    "label_selector": "labelSelector",
    "field_selector": "fieldSelector",
    "limit": "limit",
}
log = logging.getLogger("nodelab.kube")

REQUEST_TIMEOUT = 60.0
UNSUPPORTED_USER_KEYS = ("exec", "auth-provider", "username", "password", "as", "as-groups",
                         "as-uid", "as-user-extra")


class RestError(NodelabError):
    """The API server answered with an error status (`status` as the official ApiException)."""

    def __init__(self, status: int, reason: str, body: str = "") -> None:
        super().__init__(f"{status} {reason}: {body[:300]}" if body else f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.body = body

    @property
    def message(self) -> str:
        """What the server said: a Status answer's `message` (client-go's error text, e.g.
        `pods "p" is forbidden: exceeded quota: ...`), else the body, else the reason."""
        try:
            status = json.loads(self.body)
        except ValueError:
            status = None
        if isinstance(status, dict) and isinstance(status.get("message"), str):
            return str(status["message"])
        return self.body or self.reason


class KubeconfigError(NodelabError):
    pass


class UnsupportedKubeconfig(KubeconfigError):
    """The kubeconfig needs something only the official client implements."""


@dataclass(frozen=True)
class RestConfig:
    """Where the API server is and how to authenticate (client-go's `rest.Config`, in small)."""

    host: str
    port: int
    tls: ssl.SSLContext | None
    server_name: str | None = None
    token: str | None = None
    token_file: Path | None = None

    def bearer(self) -> str | None:
        if self.token_file is not None:
            return self.token_file.read_text().strip()  # read per request: it may be rotated
        return self.token


def _pem(entry: dict[str, Any], key: str, base: Path) -> bytes | None:
    if entry.get(f"{key}-data"):
        return base64.b64decode(entry[f"{key}-data"])
    if entry.get(key):
        return (base / str(entry[key])).read_bytes()
    return None


def _load_chain(tls: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    """`load_cert_chain` reads files only: hand it an anonymous in-memory file."""
    fd = os.memfd_create("nodelab-client-cert", os.MFD_CLOEXEC)
    try:
        os.write(fd, cert.rstrip(b"\n") + b"\n" + key)
        tls.load_cert_chain(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


def load_kubeconfig(kubeconfig: Path) -> RestConfig:
    """The current context of `kubeconfig` as a `RestConfig` (relative paths from its folder)."""
    import yaml  # only here: the proxy reads the kubeconfig once

    try:
        data = yaml.safe_load(kubeconfig.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise KubeconfigError(f"cannot read the kubeconfig {kubeconfig}: {exc}") from exc
    base = kubeconfig.parent

    def named(section: str, name: str) -> dict[str, Any]:
        for item in data.get(section) or []:
            if item.get("name") == name:
                return dict(item.get(section[:-1]) or {})
        raise KubeconfigError(f"{kubeconfig}: no {section[:-1]} named {name!r}")

    context = named("contexts", str(data.get("current-context") or ""))
    cluster = named("clusters", str(context.get("cluster") or ""))
    user = named("users", str(context.get("user") or ""))
    refused = [k for k in UNSUPPORTED_USER_KEYS if user.get(k)] + (
        ["proxy-url"] if cluster.get("proxy-url") else []
    )
    if refused:
        raise UnsupportedKubeconfig(
            f"{kubeconfig}: {', '.join(refused)} not supported by nodelab's small client "
            "(use client certificates or a token)"
        )
    url = urlsplit(str(cluster.get("server") or ""))
    if url.scheme not in ("https", "http") or not url.hostname:
        raise KubeconfigError(f"{kubeconfig}: server {cluster.get('server')!r} is not a URL")
    if url.path.strip("/"):
        raise UnsupportedKubeconfig(
            f"{kubeconfig}: a server URL with a path ({cluster.get('server')!r}) is not "
            "supported by nodelab's small client")
    has_ca = bool(cluster.get("certificate-authority") or
                  cluster.get("certificate-authority-data"))
    if cluster.get("insecure-skip-tls-verify") and has_ca:
        raise KubeconfigError(  # client-go refuses the same
            f"{kubeconfig}: specifying a root certificates file with the insecure flag is not "
            "allowed")
    tls: ssl.SSLContext | None = None
    if url.scheme == "https":
        tls = ssl.create_default_context()
        ca = _pem(cluster, "certificate-authority", base)
        if cluster.get("insecure-skip-tls-verify"):
            tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
        elif ca is not None:
            tls.load_verify_locations(cadata=ca.decode())
        cert, key = _pem(user, "client-certificate", base), _pem(user, "client-key", base)
        if cert is not None and key is not None:
            _load_chain(tls, cert, key)
    token_file = user.get("tokenFile")
    return RestConfig(
        host=url.hostname,
        port=url.port or (443 if url.scheme == "https" else 80),
        tls=tls,
        server_name=cluster.get("tls-server-name"),
        token=user.get("token"),
        token_file=base / str(token_file) if token_file else None,
    )


class RestResponse:
    """An open response: `.data` reads it whole, `.stream()` as it arrives."""

    def __init__(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> None:
        self._conn, self._resp = conn, resp
        self.status, self.reason = resp.status, resp.reason
        self._data: bytes | None = None

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = self._resp.read()
        return self._data

    def stream(self, amt: int | None = None, decode_content: bool = False) -> Iterator[bytes]:
        while True:
            chunk = self._resp.read1(amt or 65536)
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        """End the response; a read blocked in another thread (a watch) returns at once."""
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._resp.close()

    def release_conn(self) -> None:
        self._conn.close()


class ApiAccess(ResourceVerbs):
    """What a daemon that lists, watches and writes needs of a client: the verbs, and
    `lister(kind)` for a reflector."""

    @abstractmethod
    def lister(self, kind: str, namespace: str | None = None) -> Callable[..., Any]:
        """List (or with `watch=True` watch) `kind` in every namespace, or in `namespace`."""


class RestClient(ApiAccess):
    """Requests to one API server: `request` on kept-alive connections (`connections.py`),
    `open` (a list or watch the caller reads) each on its own."""

    def __init__(self, config: RestConfig) -> None:
        self.config = config
        self.pool = ConnectionPool(self._connect)

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Path) -> RestClient:
        return cls(load_kubeconfig(kubeconfig))

    def _connect(self, timeout: float | None) -> http.client.HTTPConnection:
        cfg = self.config
        if cfg.tls is not None:
            return _ServerNamed(cfg.host, cfg.port, context=cfg.tls, timeout=timeout,
                                server_name=cfg.server_name)
        return http.client.HTTPConnection(cfg.host, cfg.port, timeout=timeout)

    def _send(self, conn: http.client.HTTPConnection, method: str, url_path: str, body: Any,
              content_type: str) -> http.client.HTTPResponse:
        cfg = self.config
        headers = {"Accept": "application/json", "User-Agent": "nodelab"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        token = cfg.bearer()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            conn.request(method, url_path, body=payload, headers=headers)
            return conn.getresponse()
        except BaseException:
            conn.close()
            raise

    def open(self, method: str, url_path: str, body: Any = None,
             timeout: float | None = REQUEST_TIMEOUT,
             content_type: str = "application/json") -> RestResponse:
        """Send one request on a connection of its own; the response is open (raise
        `RestError` if not 2xx)."""
        conn = self._connect(timeout)
        resp = self._send(conn, method, url_path, body, content_type)
        response = RestResponse(conn, resp)
        if not 200 <= resp.status < 300:
            text = response.data.decode(errors="replace")
            conn.close()
            raise RestError(resp.status, resp.reason, text)
        return response

    def request(self, method: str, url_path: str, body: Any = None,
                content_type: str = "application/json",
                query: dict[str, str] | None = None,
                timeout: float | None = None) -> dict[str, Any]:
        """One request and its whole JSON answer, on a kept-alive connection."""
        if query:
            url_path += f"?{urlencode(query)}"
        conn, reused = self.pool.take(timeout or REQUEST_TIMEOUT)
        try:
            resp = self._send(conn, method, url_path, body, content_type)
        except CLOSED_BY_SERVER:
            if not reused or method not in REPLAYABLE:
                raise
            conn = self._connect(timeout or REQUEST_TIMEOUT)  # closed while idle: once more
            resp = self._send(conn, method, url_path, body, content_type)
        try:
            data = resp.read()
        except BaseException:
            conn.close()
            raise
        self.pool.give_back(conn, resp)
        if not 200 <= resp.status < 300:
            raise RestError(resp.status, resp.reason, data.decode(errors="replace"))
        parsed: dict[str, Any] = json.loads(data) if data else {}
        return parsed

    def lister(self, kind: str, namespace: str | None = None) -> Any:
        """List (or with `watch=True` watch) `kind` in every namespace (or in `namespace`), the
        official client's way (`_preload_content=False`: the caller reads the open response)."""
        if kind not in RESOURCES:
            raise NodelabError(f"unknown resource {kind!r} for nodelab's small client")

        def list_all(_preload_content: bool = False, **options: Any) -> RestResponse:
            query = {}
            for name, value in options.items():
                if name not in QUERY_NAMES:
                    raise NodelabError(f"list option {name!r} not supported by the small client")
                query[QUERY_NAMES[name]] = str(value).lower() if isinstance(value, bool) else value
            url = path(kind, namespace) + (f"?{urlencode(query)}" if query else "")
            watch_seconds = options.get("timeout_seconds")
            timeout = float(watch_seconds) + 30.0 if options.get("watch") and watch_seconds \
                else REQUEST_TIMEOUT
            return self.open("GET", url, timeout=timeout)

        return list_all


class _ServerNamed(http.client.HTTPSConnection):
    """HTTPS that checks the certificate against `tls-server-name` when the kubeconfig sets
    one (the server is then reached by an address its certificate does not name)."""

    def __init__(self, host: str, port: int, *, context: ssl.SSLContext,
                 timeout: float | None, server_name: str | None) -> None:
        super().__init__(host, port, context=context, timeout=timeout)
        self._context = context
        self._server_name = server_name

    def connect(self) -> None:
        if self._server_name is None:
            super().connect()
            return
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._server_name)


class OfficialClient(ApiAccess):
    """The official client behind `RestClient`'s methods; its `ApiException` is raised as
    `RestError`, so callers handle one error type."""

    def __init__(self, kubeconfig: Path) -> None:
        from kubernetes import config

        self.api_client = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig)
        )

    def lister(self, kind: str, namespace: str | None = None) -> Callable[..., Any]:
        from nodelab.kube.listers import lister, namespaced_lister

        if namespace is not None:
            return namespaced_lister(self.api_client, kind, namespace)
        return lister(self.api_client, kind)

    def request(self, method: str, url_path: str, body: Any = None,
                content_type: str = "application/json",
                query: dict[str, str] | None = None,
                timeout: float | None = None) -> dict[str, Any]:
        from kubernetes.client.exceptions import ApiException

        from nodelab.kube.rest import Rest

        try:
            return Rest(self.api_client).request(method, url_path, body, content_type, query,
                                                 timeout)
        except ApiException as exc:
            raise RestError(int(exc.status or 0), str(exc.reason or ""),
                            str(exc.body or "")) from exc


def client_for(kubeconfig: Path) -> ApiAccess:
    """The small client for `kubeconfig`, or the official one where the kubeconfig needs what
    only that implements (an exec plugin, say): the same daemon works either way."""
    try:
        return RestClient.from_kubeconfig(kubeconfig)
    except UnsupportedKubeconfig as exc:
        log.info("%s; using the official client", exc)
        return OfficialClient(kubeconfig)

