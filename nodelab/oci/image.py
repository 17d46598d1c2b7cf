"""Building OCI images from files, as plain data (the plan), ready to push.

A `Layer` is a list of entries (directories, files, symlinks) turned into a reproducible tar:
sorted, owned by root, mtime 0, gzip without a timestamp, so the same inputs always give the
same digests and a second push sends nothing. `build_image` stacks layers under an image config
(`Entrypoint`, `Cmd`, `Env`, `WorkingDir`, `ExposedPorts`, `StopSignal`, ...) and returns every
blob with the OCI manifest that names them.
"""

from __future__ import annotations

import gzip
import io
import json
import platform
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from nodelab.oci.digests import sha256_digest
from nodelab.oci.mediatypes import OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST


@dataclass(frozen=True)
class Entry:
    """One path in a layer: a directory, a regular file (with `content`) or a symlink."""

    path: str
    kind: str = "file"  # "file" | "dir" | "symlink"
    content: bytes = b""
    mode: int = 0o644
    target: str = ""

    @classmethod
    def dir(cls, path: str, mode: int = 0o755) -> Entry:
        return cls(path=path, kind="dir", mode=mode)

    @classmethod
    def file(cls, path: str, content: bytes, mode: int = 0o644) -> Entry:
        return cls(path=path, kind="file", content=content, mode=mode)

    @classmethod
    def symlink(cls, path: str, target: str) -> Entry:
        return cls(path=path, kind="symlink", target=target, mode=0o777)


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return sha256_digest(self.data)

    def descriptor(self) -> dict[str, object]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}


@dataclass(frozen=True)
class Layer:
    """A compressed layer blob and its diff id (the digest of the uncompressed tar)."""

    blob: Blob
    diff_id: str
    comment: str = ""

    @classmethod
    def from_entries(cls, entries: Iterable[Entry], comment: str = "") -> Layer:
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for entry in sorted(entries, key=lambda e: e.path):
                info = tarfile.TarInfo(entry.path.lstrip("/"))
                info.mtime = 0
                info.mode = entry.mode
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                if entry.kind == "dir":
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif entry.kind == "symlink":
                    info.type = tarfile.SYMTYPE
                    info.linkname = entry.target
                    tar.addfile(info)
                else:
                    info.size = len(entry.content)
                    tar.addfile(info, io.BytesIO(entry.content))
        uncompressed = raw.getvalue()
        compressed = gzip.compress(uncompressed, compresslevel=6, mtime=0)
        return cls(Blob(OCI_LAYER_GZIP, compressed), sha256_digest(uncompressed), comment)


@dataclass(frozen=True)
class ImageConfig:
    """The runtime part of an image config (`config` in the OCI image config)."""

    entrypoint: Sequence[str] = ()
    cmd: Sequence[str] = ()
    env: Sequence[str] = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)
    working_dir: str = ""
    user: str = ""
    exposed_ports: Sequence[str] = ()
    stop_signal: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"Env": list(self.env)}
        if self.entrypoint:
            data["Entrypoint"] = list(self.entrypoint)
        if self.cmd:
            data["Cmd"] = list(self.cmd)
        if self.working_dir:
            data["WorkingDir"] = self.working_dir
        if self.user:
            data["User"] = self.user
        if self.exposed_ports:
            data["ExposedPorts"] = {port: {} for port in self.exposed_ports}
        if self.stop_signal:
            data["StopSignal"] = self.stop_signal
        if self.labels:
            data["Labels"] = dict(self.labels)
        return data


@dataclass(frozen=True)
class BuiltImage:
    """Every blob of an image and the manifest naming them: what a push sends."""

    layers: tuple[Layer, ...]
    config: Blob
    manifest: Blob

    @property
    def digest(self) -> str:
        return self.manifest.digest

    def blobs(self) -> list[Blob]:
        return [layer.blob for layer in self.layers] + [self.config]


def oci_architecture(machine: str | None = None) -> str:
    """The OCI (GOARCH) name of this machine's architecture."""
    machine = (machine or platform.machine()).lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(
        machine, machine
    )


def build_image(layers: Sequence[Layer], config: ImageConfig) -> BuiltImage:
    """Stack `layers` (bottom first) under `config` into an OCI image."""
    config_json = {
        "architecture": oci_architecture(),
        "os": "linux",
        "config": config.to_json(),
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [
            {"created_by": layer.comment or "nodelab", "comment": "built by nodelab"}
            for layer in layers
        ],
    }
    config_blob = Blob(OCI_CONFIG, _canonical(config_json))
    manifest_json = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config_blob.descriptor(),
        "layers": [layer.blob.descriptor() for layer in layers],
    }
    return BuiltImage(tuple(layers), config_blob, Blob(OCI_MANIFEST, _canonical(manifest_json)))


def _canonical(data: object) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
