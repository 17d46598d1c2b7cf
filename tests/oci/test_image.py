import gzip
import io
import json
import tarfile

import pytest

from nodelab.oci.digests import sha256_digest
from nodelab.oci.image import Entry, ImageConfig, Layer, build_image
from nodelab.oci.mediatypes import OCI_MANIFEST
from nodelab.oci.reference import ImageReference, InvalidImageReference

pytestmark = pytest.mark.unit


def test_layers_are_reproducible() -> None:
    entries = [Entry.dir("bin"), Entry.file("bin/hello", b"hi", 0o755), Entry.symlink("x", "/y")]
    forwards = Layer.from_entries(entries).blob.digest
    assert forwards == Layer.from_entries(reversed(entries)).blob.digest


def test_layer_holds_the_entries_owned_by_root_with_zero_mtime() -> None:
    layer = Layer.from_entries(
        [Entry.file("bin/hello", b"hi", 0o755), Entry.symlink("sh", "/bin/x")]
    )
    raw = gzip.decompress(layer.blob.data)
    assert layer.diff_id == sha256_digest(raw)
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["bin/hello"].mode == 0o755 and members["bin/hello"].mtime == 0
    assert members["bin/hello"].uid == 0
    assert members["sh"].issym() and members["sh"].linkname == "/bin/x"


def test_manifest_names_config_and_layers_by_digest() -> None:
    layer = Layer.from_entries([Entry.file("a", b"1")])
    image = build_image([layer], ImageConfig(cmd=("sh",), exposed_ports=("8080/tcp",)))
    manifest = json.loads(image.manifest.data)
    assert manifest["mediaType"] == OCI_MANIFEST
    assert manifest["config"]["digest"] == image.config.digest
    assert manifest["layers"][0] == {
        "mediaType": layer.blob.media_type, "digest": layer.blob.digest,
        "size": len(layer.blob.data)}
    config = json.loads(image.config.data)
    assert config["rootfs"]["diff_ids"] == [layer.diff_id]
    assert config["config"]["Cmd"] == ["sh"]
    assert config["config"]["ExposedPorts"] == {"8080/tcp": {}}


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("busybox", "docker.io", "library/busybox", "latest", None),
        ("nginx:1.25", "docker.io", "library/nginx", "1.25", None),
        ("user/app", "docker.io", "user/app", "latest", None),
        ("172.29.1.1:5000/web:1.0", "172.29.1.1:5000", "web", "1.0", None),
        ("localhost/x/y", "localhost", "x/y", "latest", None),
        ("registry.k8s.io/pause:3.10@sha256:" + "a" * 64, "registry.k8s.io", "pause", "3.10",
         "sha256:" + "a" * 64),
    ],
)
def test_reference_parsing(text: str, registry: str, repository: str, tag: str,
                           digest: str | None) -> None:
    ref = ImageReference.parse(text)
    parsed = (ref.registry, ref.repository, ref.tag, ref.digest)
    assert parsed == (registry, repository, tag, digest)


@pytest.mark.parametrize("bad", ["", "Busybox", "a b", "x@sha256:12", "web:-bad"])
def test_invalid_references_are_refused(bad: str) -> None:
    with pytest.raises(InvalidImageReference):
        ImageReference.parse(bad)
