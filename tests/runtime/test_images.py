"""Pulling from a real local registry into the image store."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodelab.errors import NodelabError
from nodelab.lab.cri_harness.registry import (
    LocalRegistry,
    busybox_layer,
    corrupt_blob,
    push_busybox,
    push_index,
)
from nodelab.oci.image import Entry, ImageConfig, Layer, build_image
from nodelab.runtime.images.pull import Puller
from nodelab.runtime.images.store import ImageStore

from .privileges import need_root

pytestmark = [pytest.mark.privileged]


def test_pull_creates_record_snapshots_and_lookups(registry: LocalRegistry, tmp_path: Path) -> None:
    need_root()
    store = ImageStore(tmp_path / "images")
    seen: list[tuple[int, int]] = []
    original = store.progress

    def spy(ref: str, done: int, total: int) -> None:
        seen.append((done, total))
        original(ref, done, total)

    setattr(store, "progress", spy)  # noqa: B010 - a spy in place of the method
    record = Puller(store).pull(registry.ref("busybox"))
    assert record.id.startswith("sha256:")
    assert record.repo_tags == [registry.ref("busybox:latest")]
    assert (store.snapshot_dir(record.chain_ids[0]) / "bin/busybox").exists()
    assert store.find(registry.ref("busybox")) == record
    assert store.find(record.id[7:19]) == record
    assert store.find(record.repo_digests[0]) == record
    assert seen[-1][0] == seen[-1][1] > 0
    store.remove(record)
    assert store.list() == []
    assert list(store.snapshots.iterdir()) == []


def test_index_picks_this_platform(registry: LocalRegistry, tmp_path: Path) -> None:
    need_root()
    push_busybox(registry, "multi", "amd")
    other = build_image([busybox_layer(), Layer.from_entries([Entry.file("other", b"x")])],
                        ImageConfig(cmd=("sh",)))
    from nodelab.oci.push import push_image
    push_image(registry.client(), "multi", "arm", other)
    push_index(registry, "multi", "latest", {"linux/amd64": "amd", "linux/arm64": "arm"})
    record = Puller(ImageStore(tmp_path / "images")).pull(registry.ref("multi:latest"))
    import platform
    assert len(record.chain_ids) == (1 if platform.machine() == "x86_64" else 2)


def test_whiteouts_across_layers(registry: LocalRegistry, tmp_path: Path) -> None:
    need_root()
    top = Layer.from_entries([Entry.file("etc/.wh.passwd", b""), Entry.file("tmp/new", b"n")])
    push_busybox(registry, "whiteout2", "latest", extra=[top])
    store = ImageStore(tmp_path / "images")
    record = Puller(store).pull(registry.ref("whiteout2"))
    upper = store.snapshot_dir(record.chain_ids[1])
    assert (upper / "etc/passwd").is_char_device()


def test_corrupt_blob_fails_the_pull_and_keeps_nothing(registry: LocalRegistry,
                                                       tmp_path: Path) -> None:
    need_root()
    layer = Layer.from_entries([Entry.file("corrupt-me", b"payload" * 1000)])
    push_busybox(registry, "corrupt", "latest", extra=[layer])
    corrupt_blob(registry, layer.blob.digest)
    store = ImageStore(tmp_path / "images")
    with pytest.raises(NodelabError, match="digest mismatch"):
        Puller(store).pull(registry.ref("corrupt"))
    assert store.list() == []
    assert not store.has_snapshot(layer.diff_id)
    assert not any(p.name.startswith(".unpack") for p in store.snapshots.iterdir())
    assert not store.blob_path(layer.blob.digest).exists()


def test_pull_with_basic_auth_from_cri_auth_config(tmp_path: Path) -> None:
    need_root()
    import base64
    import dataclasses
    import shutil

    from nodelab.cri import api_pb2 as cri
    from nodelab.lab.cri_harness.registry import local_registry, write_htpasswd
    from nodelab.runtime.cri.image_service import credentials

    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed")
    htpasswd = write_htpasswd(tmp_path / "htpasswd", "pupil", "s3cret")
    with local_registry(tmp_path / "reg", htpasswd) as reg:
        authed = dataclasses.replace(reg, username="pupil", password="s3cret")
        push_busybox(authed, "private")
        store = ImageStore(tmp_path / "images")
        with pytest.raises(NodelabError, match="401"):
            Puller(store).pull(reg.ref("private"))
        blob = base64.b64encode(b"pupil:s3cret").decode()
        for auth in (cri.AuthConfig(username="pupil", password="s3cret"),
                     cri.AuthConfig(auth=blob)):
            record = Puller(store).pull(reg.ref("private"), credentials(auth))
            assert record.repo_tags == [reg.ref("private:latest")]


def test_concurrent_pulls_share_layers(registry: LocalRegistry, tmp_path: Path) -> None:
    need_root()
    import threading

    store = ImageStore(tmp_path / "images")
    puller = Puller(store)
    errors: list[BaseException] = []

    def pull(ref: str) -> None:
        try:
            puller.pull(ref)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=pull, args=(registry.ref(name),))
               for name in ("busybox", "whiteout", "busybox", "whiteout")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.list()) == 2
    assert len(list(store.snapshots.iterdir())) == 2


def test_docker_schema2_manifest_and_manifest_list(registry: LocalRegistry,
                                                   tmp_path: Path) -> None:
    need_root()
    import json

    from nodelab.oci.mediatypes import (
        DOCKER_CONFIG,
        DOCKER_LAYER_GZIP,
        DOCKER_MANIFEST,
        DOCKER_MANIFEST_LIST,
    )

    image = build_image([busybox_layer()], ImageConfig(cmd=("sh",)))
    client = registry.client()
    for blob in image.blobs():
        client.push_blob("docker", blob.data)
    manifest = json.loads(image.manifest.data)
    manifest["mediaType"] = DOCKER_MANIFEST
    manifest["config"]["mediaType"] = DOCKER_CONFIG
    for layer in manifest["layers"]:
        layer["mediaType"] = DOCKER_LAYER_GZIP
    body = json.dumps(manifest).encode()
    digest = client.put_manifest("docker", "v2", body, DOCKER_MANIFEST)
    import platform as host_platform
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(host_platform.machine(), "amd64")
    listing = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST_LIST, "manifests": [
        {"mediaType": DOCKER_MANIFEST, "digest": digest, "size": len(body),
         "platform": {"os": "linux", "architecture": arch}}]}
    client.put_manifest("docker", "list", json.dumps(listing).encode(), DOCKER_MANIFEST_LIST)
    store = ImageStore(tmp_path / "images")
    for tag in ("v2", "list"):
        record = Puller(store).pull(registry.ref(f"docker:{tag}"))
        assert record.id == image.config.digest
        assert (store.snapshot_dir(record.chain_ids[0]) / "bin/busybox").exists()


@pytest.mark.parametrize("token", ["identity_token", "registry_token"])
def test_tokens_in_an_auth_config_are_refused_not_ignored(token: str) -> None:
    from nodelab.cri import api_pb2 as cri
    from nodelab.runtime.cri.errors import InvalidArgument
    from nodelab.runtime.cri.image_service import credentials

    with pytest.raises(InvalidArgument, match=f"does not support {token}"):
        credentials(cri.AuthConfig(**{token: "t"}))
