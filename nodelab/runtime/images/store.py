"""The image store: pulled images, their blobs and their content-addressed layer snapshots.

Layout under `<state>/images/`:

    blobs/sha256/<hex>          verified blobs (manifests, configs, compressed layers)
    snapshots/<chain-hex>/fs    one unpacked layer, named by its OCI chain ID
    records/<image-id-hex>.json one pulled image: id, tags, digests, config, snapshot chain
    pulls/<n>.json              progress of pulls in flight (bytes done/total), for the views

An image's ID is the digest of its config blob, as in containerd and Docker. A snapshot is named
by its *chain ID* (the hash of its diff ID and everything below it), so two images sharing base
layers share snapshots, and a snapshot's content never changes once its directory exists: it is
unpacked into a temporary directory and renamed into place only after its diff ID checked out.
A container's rootfs is an overlayfs mount with the image's snapshots as `lowerdir`s.

Lookups accept what the kubelet sends: a full or short reference (`busybox` means
`docker.io/library/busybox:latest`), a `repo@sha256:` digest reference, or an image ID (whole or
hex prefix).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nodelab.errors import NodelabError
from nodelab.host.beneath import remove_tree
from nodelab.oci.reference import ImageReference, InvalidImageReference


class ImageNotFound(NodelabError):
    """No image in the store matches a reference."""


@dataclass
class ImageRecord:
    """One image in the store."""

    id: str
    repo_tags: list[str]
    repo_digests: list[str]
    size: int
    config: dict[str, Any]
    chain_ids: list[str]
    blobs: list[str] = field(default_factory=list)
    pulled_at: float = field(default_factory=time.time)

    @property
    def image_config(self) -> dict[str, Any]:
        """The `config` section of the image config (Entrypoint, Cmd, Env, ...)."""
        section = self.config.get("config") or {}
        return dict(section)


@dataclass
class PullProgress:
    """Bytes of layer and config blobs fetched so far for one pull."""

    reference: str
    done: int = 0
    total: int = 0
    started_at: float = field(default_factory=time.time)


def _hex(digest: str) -> str:
    return digest.split(":", 1)[-1]


def normalize(reference: str) -> str:
    """The fully qualified form of a reference (`busybox` -> `docker.io/library/busybox:latest`)."""
    return str(ImageReference.parse(reference))


class ImageStore:
    """Images, blobs and snapshots on disk under `root` (see module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.snapshots = root / "snapshots"
        self.records = root / "records"
        self.pulls_dir = root / "pulls"
        for directory in (self.blobs, self.snapshots, self.records, self.pulls_dir):
            directory.mkdir(parents=True, exist_ok=True)
        # Snapshots hold whatever images carry (setuid files, device nodes): only root may enter,
        # as containerd's snapshotter directory (0700).
        self.snapshots.chmod(0o700)
        self.lock = threading.RLock()
        self.pulls: dict[str, PullProgress] = {}
        self._drop_leftovers()

    def _drop_leftovers(self) -> None:
        """Half-unpacked snapshots and partial downloads of a pull cut short by `kill -9`."""
        for tmp in self.snapshots.glob(".unpack-*"):
            remove_tree(tmp, ignore_errors=True)
        for partial in self.blobs.glob("*.partial"):
            partial.unlink(missing_ok=True)
        for progress in self.pulls_dir.glob("*.json"):
            progress.unlink(missing_ok=True)

    # --- blobs and snapshots ---------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        return self.blobs / _hex(digest)

    def snapshot_dir(self, chain_id: str) -> Path:
        return self.snapshots / _hex(chain_id) / "fs"

    def has_snapshot(self, chain_id: str) -> bool:
        return self.snapshot_dir(chain_id).is_dir()

    def lowerdirs(self, record: ImageRecord) -> list[Path]:
        """The image's snapshot dirs, topmost first, as overlayfs wants its `lowerdir` list."""
        return [self.snapshot_dir(c) for c in reversed(record.chain_ids)]

    # --- records ---------------------------------------------------------------------------

    def save(self, record: ImageRecord) -> None:
        """Store `record`, moving its tags away from any image that held them before."""
        with self.lock:
            for other in self.list():
                if other.id == record.id:
                    continue
                moved = [t for t in other.repo_tags if t in record.repo_tags]
                if moved:
                    other.repo_tags = [t for t in other.repo_tags if t not in moved]
                    self._write(other)
            existing = self.get_by_id(record.id)
            if existing is not None:
                record.repo_tags = sorted(set(existing.repo_tags) | set(record.repo_tags))
                record.repo_digests = sorted(set(existing.repo_digests) | set(record.repo_digests))
            self._write(record)

    def _write(self, record: ImageRecord) -> None:
        path = self.records / f"{_hex(record.id)}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(record)))
        os.replace(tmp, path)

    def list(self) -> list[ImageRecord]:
        records = []
        for path in sorted(self.records.glob("*.json")):
            try:
                records.append(ImageRecord(**json.loads(path.read_text())))
            except (OSError, ValueError, TypeError):
                continue
        return records

    def get_by_id(self, image_id: str) -> ImageRecord | None:
        path = self.records / f"{_hex(image_id)}.json"
        if not path.exists():
            return None
        return ImageRecord(**json.loads(path.read_text()))

    def find(self, reference: str) -> ImageRecord | None:
        """The image `reference` names (tag, digest reference or ID), or None."""
        if not reference:
            return None
        records = self.list()
        bare = _hex(reference)
        if len(bare) >= 12 and all(c in "0123456789abcdef" for c in bare):
            for record in records:
                if _hex(record.id).startswith(bare):
                    return record
        try:
            wanted = ImageReference.parse(reference)
        except InvalidImageReference:
            return None
        full = str(wanted)
        for record in records:
            if wanted.digest:
                plain = f"{wanted.registry}/{wanted.repository}@{wanted.digest}"
                if plain in record.repo_digests:
                    return record
            elif full in record.repo_tags:
                return record
        return None

    def require(self, reference: str) -> ImageRecord:
        record = self.find(reference)
        if record is None:
            raise ImageNotFound(f"image {reference!r} is not present on this node; pull it first")
        return record

    def remove(self, record: ImageRecord, in_use: Iterable[str] = ()) -> None:
        """Forget `record` and delete snapshots and blobs nothing else uses."""
        with self.lock:
            (self.records / f"{_hex(record.id)}.json").unlink(missing_ok=True)
            self.collect_garbage(set(in_use))

    def collect_garbage(self, in_use_chains: set[str]) -> None:
        """Delete snapshots and blobs that no image record and no container references."""
        keep_chains = {_hex(c) for c in in_use_chains}
        keep_blobs: set[str] = set()
        for record in self.list():
            keep_chains.update(_hex(c) for c in record.chain_ids)
            keep_blobs.update(_hex(d) for d in record.blobs)
            keep_blobs.add(_hex(record.id))
        for snap in self.snapshots.iterdir():
            if snap.name not in keep_chains:
                remove_tree(snap, ignore_errors=True)
        for blob in self.blobs.iterdir():
            if blob.name not in keep_blobs:
                blob.unlink(missing_ok=True)

    # --- pull progress ---------------------------------------------------------------------

    def progress(self, reference: str, done: int, total: int) -> None:
        """Record pull progress in memory and (at most a few times a second) on disk."""
        entry = self.pulls.setdefault(reference, PullProgress(reference))
        entry.done, entry.total = done, total
        path = self.pulls_dir / (reference.replace("/", "_").replace(":", "_") + ".json")
        path.write_text(json.dumps(asdict(entry)))

    def pull_finished(self, reference: str) -> None:
        self.pulls.pop(reference, None)
        path = self.pulls_dir / (reference.replace("/", "_").replace(":", "_") + ".json")
        path.unlink(missing_ok=True)

    # --- usage -----------------------------------------------------------------------------

    def usage(self) -> tuple[int, int]:
        """(bytes, inodes) used by the store."""
        size = inodes = 0
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in filenames + dirnames:
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except OSError:
                    continue
                inodes += 1
                size += st.st_blocks * 512
        return size, inodes
