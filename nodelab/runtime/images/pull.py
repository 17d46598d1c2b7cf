"""Pulling an image over the OCI distribution API into the image store.

The steps are the ones every runtime takes (containerd's `Pull`, `skopeo copy`):

1. resolve the reference to a manifest; if the registry answers with an index (multi-platform
   image), pick the entry for this node's platform and fetch that manifest by digest;
2. fetch the config blob (its digest is the image ID) and read the layers' diff IDs from it;
3. for each layer whose snapshot is missing: download the compressed blob (digest-verified by
   `RegistryClient`), unpack it into a temporary snapshot directory while hashing the
   uncompressed stream, compare with the diff ID, and only then rename the directory into place;
4. write the image record (tags, `repo@digest`, config, chain IDs).

A blob that fails verification aborts the pull with `DigestMismatch`; the partial download and the
temporary snapshot are deleted, so a failed pull leaves nothing behind that a later pull could
mistake for good content.

Registries are spoken to over https, except those configured as insecure (the lab registry on
the lab gateway, loopback registries in tests), which use plain http.
"""

from __future__ import annotations

import ipaddress
import json
import tempfile
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodelab.errors import NodelabError
from nodelab.host.beneath import remove_tree
from nodelab.oci.digests import DigestMismatch, validate_digest
from nodelab.oci.distribution import RegistryClient
from nodelab.oci.mediatypes import INDEX_TYPES, MANIFEST_TYPES
from nodelab.oci.reference import ImageReference
from nodelab.runtime.images.layers import (
    DEFAULT_MAX_LAYER_BYTES,
    LayerRefused,
    chain_ids,
    unpack_layer,
)
from nodelab.runtime.images.platforms import Platform, choose_manifest, host
from nodelab.runtime.images.store import ImageRecord, ImageStore


@dataclass(frozen=True)
class Credentials:
    """What a PullImageRequest's AuthConfig carries (username/password or an `auth` blob)."""

    username: str | None = None
    password: str | None = None


def _size(descriptor: dict[str, Any]) -> int:
    """A descriptor's `size`: what the blob may be at most (a registry cannot send more)."""
    size = descriptor.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise NodelabError(f"descriptor of {descriptor.get('digest')!r} has no valid size "
                           f"({size!r}); the image is malformed")
    return size


def is_insecure(registry: str, insecure: Collection[str]) -> bool:
    """Plain http for configured registries (`host:port`, or a CIDR naming every port of its
    hosts, as Docker's insecure-registries) and loopback ones."""
    hostname = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
    if registry in insecure or hostname in ("localhost", "127.0.0.1", "[::1]"):
        return True
    try:
        address = ipaddress.ip_address(hostname.strip("[]"))
    except ValueError:
        return False
    for entry in insecure:
        try:
            if "/" in entry and address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


class Puller:
    """Pulls images into an ImageStore."""

    def __init__(
        self,
        store: ImageStore,
        insecure_registries: Collection[str] = (),
        platform: Platform | None = None,
        max_layer_size: int = DEFAULT_MAX_LAYER_BYTES,
    ) -> None:
        self.store = store
        self.max_layer_size = max_layer_size
        self.insecure = set(insecure_registries)
        self.platform = platform or host()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, digest: str) -> threading.Lock:
        """One lock per blob, so concurrent pulls sharing a layer fetch and unpack it once."""
        with self._guard:
            return self._locks.setdefault(digest, threading.Lock())

    def pull(self, reference: str, credentials: Credentials | None = None) -> ImageRecord:
        ref = ImageReference.parse(reference)
        creds = credentials or Credentials()
        client = RegistryClient(
            ref.endpoint,
            scheme="http" if is_insecure(ref.registry, self.insecure) else "https",
            username=creds.username,
            password=creds.password,
        )
        key = str(ref)
        try:
            return self._pull(client, ref, key)
        finally:
            self.store.pull_finished(key)

    def _pull(self, client: RegistryClient, ref: ImageReference, key: str) -> ImageRecord:
        manifest = client.get_manifest(ref.repository, ref.reference)
        top_digest = manifest.digest
        blobs = [manifest.digest]
        self._keep_blob(manifest.digest, manifest.body)
        if manifest.media_type in INDEX_TYPES:
            entries = manifest.json().get("manifests") or []
            assert isinstance(entries, list)
            entry = choose_manifest(entries, self.platform)
            digest = validate_digest(str(entry["digest"]))
            manifest = client.get_manifest(ref.repository, digest)
            blobs.append(manifest.digest)
            self._keep_blob(manifest.digest, manifest.body)
        if manifest.media_type not in MANIFEST_TYPES:
            raise NodelabError(
                f"{ref}: unsupported manifest type {manifest.media_type!r} "
                "(nodelab pulls OCI and Docker schema 2 images)"
            )
        body: dict[str, Any] = manifest.json()
        config_desc = body["config"]
        layers: list[dict[str, Any]] = list(body.get("layers") or [])
        total = int(config_desc.get("size", 0)) + sum(int(layer.get("size", 0)) for layer in layers)
        done = 0
        self.store.progress(key, done, total)

        config_digest = validate_digest(str(config_desc["digest"]))
        with self._lock(config_digest):
            config_path = self._fetch(client, ref, config_digest,
                                      _size(config_desc))
        config: dict[str, Any] = json.loads(config_path.read_bytes())
        done += config_path.stat().st_size
        self.store.progress(key, done, total)
        blobs.append(config_digest)

        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
        if len(diff_ids) != len(layers):
            raise NodelabError(
                f"{ref}: manifest lists {len(layers)} layers but the config has "
                f"{len(diff_ids)} diff IDs; the image is malformed"
            )
        chains = chain_ids(diff_ids)
        for layer, diff_id, chain in zip(layers, diff_ids, chains, strict=True):
            layer_digest = validate_digest(str(layer["digest"]))
            size = _size(layer)
            with self._lock(layer_digest):
                if not self.store.has_snapshot(chain):
                    base = done

                    def report(now: int, _total: int, base: int = base) -> None:
                        self.store.progress(key, base + now, total)

                    blob = self._fetch(client, ref, layer_digest, size, report)
                    self._unpack(blob, diff_id, chain, ref)
                    blob.unlink(missing_ok=True)
            done += size
            self.store.progress(key, done, total)

        tags = [str(ref)] if ref.tag else []
        record = ImageRecord(
            id=config_digest,
            repo_tags=tags,
            repo_digests=[f"{ref.registry}/{ref.repository}@{top_digest}"],
            size=total,
            config=config,
            chain_ids=chains,
            blobs=blobs,
        )
        self.store.save(record)
        saved = self.store.get_by_id(config_digest)
        assert saved is not None
        return saved

    def _keep_blob(self, digest: str, data: bytes) -> None:
        self.store.blob_path(digest).write_bytes(data)

    def _fetch(
        self, client: RegistryClient, ref: ImageReference, digest: str, size: int,
        progress: Any = None,
    ) -> Path:
        """The blob `digest` in the store, downloaded if missing (at most `size` bytes)."""
        path = self.store.blob_path(digest)
        if not path.exists():
            try:
                client.get_blob_to_file(ref.repository, digest, path, progress, size)
            except DigestMismatch as exc:
                raise NodelabError(f"pull of {ref} failed: {exc}") from exc
        return path

    def _unpack(self, blob: Path, diff_id: str, chain: str, ref: ImageReference) -> None:
        final = self.store.snapshot_dir(chain).parent
        tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=self.store.snapshots))
        try:
            with open(blob, "rb") as stream:
                try:
                    actual = unpack_layer(stream, tmp / "fs", self.max_layer_size)
                except LayerRefused as exc:
                    raise NodelabError(f"pull of {ref} failed: {exc}") from exc
            if actual != diff_id:
                raise NodelabError(
                    f"pull of {ref} failed: digest mismatch for the uncompressed layer "
                    f"{blob.name[:12]}: expected diff ID {diff_id}, got {actual}; nothing was kept"
                )
            if not final.exists():
                tmp.rename(final)
        finally:
            if tmp.exists():
                remove_tree(tmp, ignore_errors=True)
