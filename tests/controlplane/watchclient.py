"""A raw watch reader over HTTPS with the admin client certificate, for exact stream checks."""

from __future__ import annotations

import http.client
import json
import ssl
import time
from collections.abc import Iterator
from typing import Any

from tests.controlplane.apiserver import RunningApiServer


def admin_context(server: RunningApiServer) -> ssl.SSLContext:
    assert server.pki is not None
    context = ssl.create_default_context(cafile=str(server.pki.ca_cert))
    context.load_cert_chain(str(server.pki.admin.cert), str(server.pki.admin.key))
    return context


def watch_events(server: RunningApiServer, path: str, timeout: float = 10.0
                 ) -> Iterator[dict[str, Any]]:
    """Yield decoded watch events from GET `path` until the stream ends or `timeout` passes."""
    connection = http.client.HTTPSConnection("127.0.0.1", server.port,
                                             context=admin_context(server), timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 200, response.read()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = response.readline()
            if not line:
                return
            yield json.loads(line)
    finally:
        connection.close()


def request(server: RunningApiServer, method: str, path: str, body: Any = None,
            content_type: str = "application/json") -> tuple[int, Any]:
    connection = http.client.HTTPSConnection("127.0.0.1", server.port,
                                             context=admin_context(server), timeout=30)
    try:
        payload = None if body is None else json.dumps(body)
        connection.request(method, path, body=payload, headers={"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()
