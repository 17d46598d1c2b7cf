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
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodelab.cni.config import NetworkConfigList

DEFAULT_CACHE_DIR = Path("/var/lib/cni")


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
        self.directory = Path(cache_dir) / "results"

    def path(self, network: str, container_id: str, ifname: str) -> Path:
        return self.directory / f"{network}-{container_id}-{ifname}"

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
        path = self.path(conflist.name, container_id, ifname)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(body))
        os.replace(tmp, path)
        return path

    def load(self, network: str, container_id: str, ifname: str) -> CachedAttachment | None:
        path = self.path(network, container_id, ifname)
        try:
            body = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return _attachment(body)

    def remove(self, network: str, container_id: str, ifname: str) -> None:
        self.path(network, container_id, ifname).unlink(missing_ok=True)

    def attachments(self, network: str) -> list[CachedAttachment]:
        """Every cached attachment of `network` (files that do not parse are skipped)."""
        found: list[CachedAttachment] = []
        if not self.directory.is_dir():
            return found
        for path in sorted(self.directory.glob(f"{network}-*")):
            try:
                body = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            attachment = _attachment(body)
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
