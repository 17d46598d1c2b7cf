"""An add-on's API access from inside its pod: list and watch with the pod's service account.

What client-go's `rest.InClusterConfig` reads, read the same way: the API server at
`KUBERNETES_SERVICE_HOST`:`KUBERNETES_SERVICE_PORT` (the `kubernetes` Service, which the
kubelet puts in every container's environment), the projected service-account token (read
again for every request: the kubelet rotates it) and the cluster CA beside it, both under
/var/run/secrets/kubernetes.io/serviceaccount.

`Reflector` is client-go's reflector in small: list, then watch from the list's
resourceVersion with bookmarks; a watch that ends is resumed from the last version seen; a
410 Gone (the version was compacted) or any failure lists again after a short, growing pause.
The official Python client is not used here: it would add 130 MB to the add-on image for two
GET requests.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

log = logging.getLogger(__name__)

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
WATCH_SECONDS = 300  # a watch the server ends after this long is simply resumed
RETRY_MAX = 10.0

Obj = dict[str, Any]


class InClusterError(Exception):
    """The pod has no in-cluster configuration, or the API server refused a request."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class InCluster:
    host: str
    port: int
    token_file: Path
    ca_file: Path

    @classmethod
    def from_environment(cls, env: Mapping[str, str] = os.environ,
                         account: Path = SERVICE_ACCOUNT) -> InCluster:
        host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
        if not host or not port:
            raise InClusterError("not in a pod: KUBERNETES_SERVICE_HOST and "
                                 "KUBERNETES_SERVICE_PORT are not set")
        return cls(host, int(port), account / "token", account / "ca.crt")

    def _connect(self, timeout: float) -> http.client.HTTPSConnection:
        context = self.context()
        return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                           context=context)

    def token(self) -> str:
        """The pod's service-account token, read anew (the kubelet rotates it)."""
        return self.token_file.read_text().strip()

    def context(self) -> ssl.SSLContext:
        """TLS trusting the cluster CA only (what the API server and kubelets present)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def _send(self, path: str, timeout: float, method: str = "GET", body: bytes | None = None,
              content_type: str = "application/json"
              ) -> tuple[http.client.HTTPSConnection, http.client.HTTPResponse]:
        connection = self._connect(timeout)
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        if response.status not in (200, 201):
            text = response.read(65536).decode(errors="replace")
            connection.close()
            try:
                message = json.loads(text).get("message") or text
            except ValueError:
                message = text
            raise InClusterError(f"{method} {path}: {response.status} {message}",
                                 response.status)
        return connection, response

    def post(self, path: str, obj: Obj, timeout: float = 30.0) -> Obj:
        connection, response = self._send(path, timeout, "POST", json.dumps(obj).encode())
        try:
            result: Obj = json.loads(response.read())
            return result
        finally:
            connection.close()

    def patch(self, path: str, patch: Obj, content_type: str, timeout: float = 30.0) -> Obj:
        """PATCH with `content_type` (application/strategic-merge-patch+json, merge-patch)."""
        connection, response = self._send(path, timeout, "PATCH", json.dumps(patch).encode(),
                                          content_type)
        try:
            result: Obj = json.loads(response.read())
            return result
        finally:
            connection.close()

    def get(self, path: str, timeout: float = 30.0) -> Obj:
        connection, response = self._send(path, timeout)
        try:
            result: Obj = json.loads(response.read())
            return result
        finally:
            connection.close()

    def watch(self, path: str, resource_version: str) -> Iterator[Obj]:
        """The events of one watch from `resource_version`, until the server ends it."""
        query = urlencode({"watch": "1", "resourceVersion": resource_version,
                           "allowWatchBookmarks": "true", "timeoutSeconds": WATCH_SECONDS})
        connection, response = self._send(f"{path}?{query}", WATCH_SECONDS + 30)
        try:
            for line in response:
                if line.strip():
                    yield json.loads(line)
        finally:
            connection.close()


class Reflector:
    """Keeps `items` (name/namespace -> object) equal to the API server's list of `path`."""

    def __init__(self, client: InCluster, path: str, on_change: Callable[[], None]) -> None:
        self.client = client
        self.path = path
        self.on_change = on_change
        self.items: dict[str, Obj] = {}
        self.synced = threading.Event()
        self.lock = threading.Lock()

    @staticmethod
    def key(obj: Obj) -> str:
        metadata = obj.get("metadata") or {}
        return f"{metadata.get('namespace') or ''}/{metadata.get('name')}"

    def snapshot(self) -> list[Obj]:
        with self.lock:
            return list(self.items.values())

    def run(self, stop: threading.Event) -> None:
        pause = 0.5
        while not stop.is_set():
            try:
                self._list_and_watch(stop)
                pause = 0.5
            except (OSError, ValueError, http.client.HTTPException, InClusterError) as exc:
                log.warning("%s: %s; listing again in %.1fs", self.path, exc, pause)
                stop.wait(pause)
                pause = min(pause * 2, RETRY_MAX)

    def _list_and_watch(self, stop: threading.Event) -> None:
        listing = self.client.get(self.path)
        with self.lock:
            self.items = {self.key(item): item for item in listing.get("items") or []}
        version = str((listing.get("metadata") or {}).get("resourceVersion") or "")
        self.synced.set()
        self.on_change()
        while not stop.is_set():
            started = time.monotonic()
            for event in self.client.watch(self.path, version):
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    raise InClusterError(f"watch {self.path}: {obj.get('message')}",
                                         int(obj.get("code") or 0))
                version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                if kind == "BOOKMARK":
                    continue
                with self.lock:
                    if kind == "DELETED":
                        self.items.pop(self.key(obj), None)
                    else:
                        self.items[self.key(obj)] = obj
                self.on_change()
                if stop.is_set():
                    return
            if time.monotonic() - started < 1.0:  # ended at once: do not spin
                stop.wait(1.0)
