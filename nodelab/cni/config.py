"""Network configuration lists (conflists): the file a runtime reads, as plain data.

A conflist names a network and lists the plugins to chain:

    {"cniVersion": "1.0.0", "name": "pods", "plugins": [
        {"type": "bridge", "bridge": "cni0", "ipam": {"type": "host-local", ...}},
        {"type": "portmap", "capabilities": {"portMappings": true}}]}

Spec 1.1 adds `cniVersions` (the runtime picks the highest it supports), `disableCheck` and
`disableGC`. A single-plugin `.conf` file is accepted too and wrapped into a list of one, as
libcni does. Each plugin's configuration is kept exactly as written (`raw`) because the invoker
must hand every plugin its own keys untouched, plus what the runtime injects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodelab.cni import version
from nodelab.cni.errors import DECODING_FAILURE, INVALID_NETWORK_CONFIG, CNIError
from nodelab.cni.identifiers import check_network_name


@dataclass(frozen=True)
class PluginConfig:
    """One entry of `plugins`: its type and its keys as written."""

    type: str
    raw: dict[str, Any]

    @property
    def capabilities(self) -> dict[str, bool]:
        caps = self.raw.get("capabilities") or {}
        return {k: bool(v) for k, v in caps.items()} if isinstance(caps, dict) else {}


@dataclass(frozen=True)
class NetworkConfigList:
    """A parsed conflist."""

    name: str
    cni_version: str
    plugins: tuple[PluginConfig, ...]
    disable_check: bool = False
    disable_gc: bool = False
    raw: dict[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return json.dumps(self.raw, sort_keys=True).encode()


def parse_conflist(
    data: bytes | str | dict[str, Any], *, source: str = "conflist"
) -> NetworkConfigList:
    """Parse and check a conflist (or a single-plugin conf); raise CNIError 6 or 7."""
    if isinstance(data, dict):
        body: object = data
    else:
        try:
            body = json.loads(data)
        except ValueError as exc:
            raise CNIError(DECODING_FAILURE, f"cannot decode {source} as JSON", str(exc)) from exc
    if not isinstance(body, dict):
        raise CNIError(INVALID_NETWORK_CONFIG, f"{source} is not a JSON object")
    if "plugins" not in body and "type" in body:
        single = {k: v for k, v in body.items() if k not in ("name", "cniVersion")}
        body = {
            "cniVersion": body.get("cniVersion", ""),
            "name": body.get("name", ""),
            "plugins": [single],
        }
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise CNIError(INVALID_NETWORK_CONFIG, f"{source} has no network name (key `name`)")
    check_network_name(name)
    versions = body.get("cniVersions")
    if isinstance(versions, list) and versions:
        cni_version = version.pick([str(v) for v in versions])
    else:
        cni_version = str(body.get("cniVersion") or "")
        if not cni_version:
            raise CNIError(INVALID_NETWORK_CONFIG, f"{source} has no cniVersion")
        version.require_supported(cni_version)
    plugins = body.get("plugins")
    if not isinstance(plugins, list) or not plugins:
        raise CNIError(INVALID_NETWORK_CONFIG, f"{source} has no plugins (key `plugins`)")
    parsed = []
    for index, plugin in enumerate(plugins):
        if not isinstance(plugin, dict) or not isinstance(plugin.get("type"), str):
            raise CNIError(
                INVALID_NETWORK_CONFIG, f"{source}: plugins[{index}] has no string `type`"
            )
        parsed.append(PluginConfig(type=plugin["type"], raw=dict(plugin)))
    return NetworkConfigList(
        name=name,
        cni_version=cni_version,
        plugins=tuple(parsed),
        disable_check=bool(body.get("disableCheck", False)),
        disable_gc=bool(body.get("disableGC", False)),
        raw=dict(body),
    )


def load_conflist(path: Path | str) -> NetworkConfigList:
    """Read a `.conflist` (or `.conf`) file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CNIError(
            INVALID_NETWORK_CONFIG, f"cannot read CNI config {path}: {exc.strerror}"
        ) from exc
    return parse_conflist(data, source=str(path))


CONF_EXTENSIONS = (".conf", ".conflist", ".json")


def default_conflist(conf_dir: Path | str) -> NetworkConfigList | None:
    """The network a runtime uses: the first loadable config in `conf_dir` by file name, as
    containerd and CRI-O pick it (`.conf`, `.conflist`, `.json`); None if there is none."""
    directory = Path(conf_dir)
    if not directory.is_dir():
        return None
    for path in sorted(directory.iterdir()):
        if path.suffix not in CONF_EXTENSIONS or not path.is_file():
            continue
        try:
            return load_conflist(path)
        except CNIError:
            continue
    return None
