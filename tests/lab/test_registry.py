"""The lab registry: demo images round-trip over the distribution API with digest checks.

The lab tests only read the registry (a DELETE is refused), so they use the suite's shared lab."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nodelab.lab.lab import Lab
from nodelab.lab.registry.demo_images import build_demo_images, busybox_layer
from nodelab.oci.digests import DigestMismatch
from nodelab.oci.distribution import RegistryClient
from tests.conftest import needs_root

pytestmark = [pytest.mark.privileged, needs_root]


def test_demo_images_round_trip_with_digests(cluster: Lab) -> None:
    client = RegistryClient(cluster.topology.registry, scheme="http")
    expected = build_demo_images(busybox_layer())
    for name in ("busybox", "web", "pause"):
        manifest = client.get_manifest(name, "1.0")
        assert manifest.digest == expected[name].digest
        assert hashlib.sha256(manifest.body).hexdigest() == manifest.digest.split(":")[1]
        data: dict[str, Any] = manifest.json()
        blobs = [data["config"], *data["layers"]]
        for descriptor in blobs:
            out = io.BytesIO()
            size = client.get_blob(name, descriptor["digest"], out)
            assert size == descriptor["size"]
            assert "sha256:" + hashlib.sha256(out.getvalue()).hexdigest() == descriptor["digest"]
    # by digest, too
    assert client.get_manifest("web", expected["web"].digest).digest == expected["web"].digest
    assert cluster.images.ref("web") == f"{cluster.topology.registry}/web:1.0"


class _LyingRegistry(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b"not what you asked for"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def lying_registry() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _LyingRegistry)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_deletes_are_refused_and_the_image_stays(cluster: Lab) -> None:
    import urllib.error
    import urllib.request

    client = RegistryClient(cluster.topology.registry, scheme="http")
    digest = client.get_manifest("web", "1.0").digest
    request = urllib.request.Request(
        f"http://{cluster.topology.registry}/v2/web/manifests/{digest}", method="DELETE")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 405
    assert client.get_manifest("web", "1.0").digest == digest


def test_a_blob_with_the_wrong_digest_fails_and_leaves_nothing(
    lying_registry: str, tmp_path: Path
) -> None:
    client = RegistryClient(lying_registry, scheme="http")
    target = tmp_path / "blob"
    digest = "sha256:" + hashlib.sha256(b"the real content").hexdigest()
    with pytest.raises(DigestMismatch, match="digest mismatch"):
        client.get_blob_to_file("web", digest, target)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DigestMismatch):
        client.get_manifest("web", digest)
