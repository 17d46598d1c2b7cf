"""The result cache, in libcni's layout, under the lab's state directory.

After a successful ADD the runtime must remember the result: DEL and CHECK hand it back to each
plugin as `prevResult`, and GC needs to know which attachments exist. libcni writes one JSON file
per attachment at `<cacheDir>/results/<network>-<containerID>-<ifname>`:

    {"kind": "cniCacheV1", "containerId": ..., "ifName": ..., "networkName": ..., "netns": ...,
     "config": <base64 of the conflist>, "cniArgs": [[k, v]], "capabilityArgs": {...},
     "result": {...}}

nodelab writes the same thing (upstream's default cache dir is /var/lib/cni; nodelab always
passes its lab state dir), so the files can be read with the same tools and a restarted runtime
finds every attachment it made. Writes are atomic (temporary file, then rename).

The names come from the call (`network`, `containerID`, `ifname`: checked by
`identifiers.py` before any plugin runs); the file is still handled as one component of the
results directory, relative to its fd and without following links (`nodelab/host/beneath.py`),
so a name with `/` or `..`, or a symlink planted in the cache, can never make the runtime write
or read outside it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodelab.cni.config import NetworkConfigList
from nodelab.host.beneath import PathEscape, open_dir

DEFAULT_CACHE_DIR = Path("/var/lib/cni")
MAX_ENTRY = 4 * 1024 * 1024  # a cache entry is a few KiB; a bigger one is not read whole


@dataclass(frozen=True)
class CachedAttachment:
    network: str
    container_id: str
    ifname: str
    netns: str
    result: dict[str, Any] | None
    cni_args: dict[str, str]
    capability_args: dict[str, Any]


class ResultCache:
    """Attachments and their results, one file each under `<cache_dir>/results`."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir)
        self.directory = self.cache_dir / "results"

    def path(self, network: str, container_id: str, ifname: str) -> Path:
        return self.directory / self.file_name(network, container_id, ifname)

    @staticmethod
    def file_name(network: str, container_id: str, ifname: str) -> str:
        name = f"{network}-{container_id}-{ifname}"
        if "/" in name or "\0" in name or name in (".", ".."):
            raise PathEscape(f"CNI cache: {name!r} is not a file name")
        return name

    @contextlib.contextmanager
    def _results(self, create: bool) -> Iterator[int | None]:
        """The results directory's fd (None when it does not exist and `create` is False)."""
        if create:
            self.cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            root = os.open(self.cache_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            yield None
            return
        try:
            fd = open_dir(root, ["results"], create=create, mode=0o700,
                          what=f"CNI cache {self.directory}")
        except FileNotFoundError:
            fd = None
        finally:
            os.close(root)
        try:
            yield fd
        finally:
            if fd is not None:
                os.close(fd)

    def save(
        self,
        conflist: NetworkConfigList,
        container_id: str,
        ifname: str,
        netns: str,
        result: dict[str, Any],
        cni_args: dict[str, str],
        capability_args: dict[str, Any],
    ) -> Path:
        body = {
            "kind": "cniCacheV1",
            "containerId": container_id,
            "ifName": ifname,
            "networkName": conflist.name,
            "netns": netns,
            "config": base64.b64encode(conflist.to_bytes()).decode(),
            "cniArgs": [[k, v] for k, v in cni_args.items()],
            "capabilityArgs": capability_args,
            "result": result,
        }
        name = self.file_name(conflist.name, container_id, ifname)
        with self._results(create=True) as fd:
            assert fd is not None
            tmp = f".{name}.{secrets.token_hex(4)}.tmp"
            out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                          | os.O_CLOEXEC, 0o600, dir_fd=fd)
            with os.fdopen(out, "w") as handle:
                handle.write(json.dumps(body))
            os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        return self.directory / name

    def _read(self, fd: int, name: str) -> object:
        try:
            handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                             dir_fd=fd)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(handle).st_mode):
                return None
            with os.fdopen(os.dup(handle), "rb") as data:
                return json.loads(data.read(MAX_ENTRY))
        except (OSError, ValueError):
            return None
        finally:
            os.close(handle)

    def load(self, network: str, container_id: str, ifname: str) -> CachedAttachment | None:
        name = self.file_name(network, container_id, ifname)
        with self._results(create=False) as fd:
            return None if fd is None else _attachment(self._read(fd, name))

    def remove(self, network: str, container_id: str, ifname: str) -> None:
        name = self.file_name(network, container_id, ifname)
        with self._results(create=False) as fd:
            if fd is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=fd)

    def attachments(self, network: str) -> list[CachedAttachment]:
        """Every cached attachment of `network` (files that do not parse are skipped)."""
        found: list[CachedAttachment] = []
        with self._results(create=False) as fd:
            if fd is None:
                return found
            for name in sorted(os.listdir(fd)):
                if not name.startswith(f"{network}-"):
                    continue
                attachment = _attachment(self._read(fd, name))
                if attachment is not None and attachment.network == network:
                    found.append(attachment)
        return found


def _attachment(body: object) -> CachedAttachment | None:
    if not isinstance(body, dict) or body.get("kind") != "cniCacheV1":
        return None
    result = body.get("result")
    return CachedAttachment(
        network=str(body.get("networkName", "")),
        container_id=str(body.get("containerId", "")),
        ifname=str(body.get("ifName", "")),
        netns=str(body.get("netns", "")),
        result=result if isinstance(result, dict) else None,
        cni_args={str(k): str(v) for k, v in body.get("cniArgs") or []},
        capability_args=dict(body.get("capabilityArgs") or {}),
    )
