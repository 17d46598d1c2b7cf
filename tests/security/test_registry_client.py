"""A hostile registry against nodelab's OCI client: caps on what it reads, where credentials go.

The registry here is a small HTTP server on loopback that answers what a hostile or broken
registry could: a huge manifest, a blob longer than its descriptor, a token realm on another
host, a redirect of a blob download to another host. The client must refuse the first two and
never send the registry's credentials or token where they do not belong.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from nodelab.oci.digests import sha256_digest
from nodelab.oci.distribution import MAX_MANIFEST_BYTES, RegistryClient, RegistryError

from .victim import FIGURE

pytestmark = pytest.mark.unit

BLOB = b"x" * 2000
SEEN: list[tuple[str, str, str | None]] = []  # (host header, path, authorization)


class Hostile(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        port = self.server.server_address[1]  # type: ignore[index]  # an AF_INET (host, port)
        SEEN.append((self.headers.get("Host", ""), self.path, self.headers.get("Authorization")))
        if self.path.startswith("/v2/big/manifests/"):
            self._send(200, b" " * (MAX_MANIFEST_BYTES + 10),
                       {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        elif self.path.startswith("/v2/long/blobs/"):
            self._send(200, BLOB)
        elif self.path.startswith("/v2/basic/") and not self.headers.get("Authorization"):
            self._send(401, b"", {"WWW-Authenticate": 'Basic realm="r"'})
        elif self.path.startswith("/v2/basic/blobs/"):
            self._send(307, b"", {"Location": f"http://localhost:{port}/storage/blob"})
        elif self.path.startswith("/storage/"):
            self._send(200, BLOB)
        elif self.path.startswith("/v2/bearer/") and not self.headers.get("Authorization"):
            realm = f"http://localhost:{port}/token"  # another host than 127.0.0.1
            self._send(401, b"", {"WWW-Authenticate": f'Bearer realm="{realm}",service="s"'})
        elif self.path.startswith("/token"):
            self._send(200, json.dumps({"token": "t"}).encode())
        elif self.path.startswith("/v2/bearer/blobs/"):
            self._send(200, BLOB)
        else:
            self._send(404)


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def client(registry: str) -> RegistryClient:
    return RegistryClient(registry, scheme="http", username="u", password="secret")


def test_a_manifest_over_4_mib_is_refused(registry: str) -> None:
    with pytest.raises(RegistryError, match="larger than"):
        client(registry).get_manifest("big", "latest")
    FIGURE.record("registry client", [])


def test_a_blob_longer_than_its_descriptor_is_refused(registry: str) -> None:
    out = io.BytesIO()
    with pytest.raises(RegistryError, match="larger than the 1000 bytes"):
        client(registry).get_blob("long", sha256_digest(BLOB), out, size=1000)
    assert len(out.getvalue()) <= 1000
    FIGURE.record("registry client", [])


def test_authorization_is_not_carried_to_another_host(registry: str) -> None:
    SEEN.clear()
    out = io.BytesIO()
    client(registry).get_blob("basic", sha256_digest(BLOB), out, size=len(BLOB))
    storage = [auth for host, path, auth in SEEN if path.startswith("/storage/")]
    assert storage == [None]
    assert any(auth and auth.startswith("Basic") for _, path, auth in SEEN
               if path.startswith("/v2/basic/"))
    FIGURE.record("registry client", [] if storage == [None] else ["Authorization leaked"])


def test_credentials_are_not_sent_to_a_realm_on_another_host(registry: str) -> None:
    SEEN.clear()
    client(registry).get_blob("bearer", sha256_digest(BLOB), io.BytesIO(), size=len(BLOB))
    token_requests = [auth for _, path, auth in SEEN if path.startswith("/token")]
    assert token_requests == [None]
    FIGURE.record("registry client", [] if token_requests == [None] else ["credentials leaked"])


@pytest.mark.parametrize(("scheme", "realm", "allowed"), [
    ("https", "https://reg.example:5000/token", True),
    ("https", "http://reg.example:5000/token", False),
    ("https", "https://evil.example/token", False),
    ("http", "http://reg.example/token", True),
    ("http", "http://evil.example/token", False),
])
def test_where_credentials_may_go(scheme: str, realm: str, allowed: bool) -> None:
    assert RegistryClient("reg.example:5000", scheme=scheme, username="u",
                          password="p")._may_send_credentials(realm) is allowed
