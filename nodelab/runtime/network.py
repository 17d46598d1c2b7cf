"""The sandbox's network step, behind a small interface: attach and detach a pod's netns.

The runtime does not wire pods itself; it calls CNI plugins *through the CNI spec* (exec with
`CNI_*` env and the network config on stdin), as containerd's libcni does, so any spec-following
plugins work: the reference plugins in `/usr/lib/cni`, or nodelab's own (`nodelab/cni/`).

`PodNetwork` is what the sandbox code needs:

- `status()`: is a network configured? Status reports NetworkReady=false until a conflist
  appears in the conf dir (the kubelet then keeps the node NotReady, as with containerd);
- `attach(...)`: CNI ADD of the first conflist in the conf dir (sorted by file name), plugins in
  order with `prevResult` chained, `portMappings` handed to plugins that declare that capability;
  the final result is cached under the state dir (libcni's results cache);
- `detach(...)`: CNI DEL in reverse order with the cached result; idempotent, and it works when
  the netns is already gone (then CNI_NETNS is empty, as the spec allows).

`NoNetwork` is the host-less fallback for runtimes started without CNI dirs: the pod gets a
netns with only `lo`, and Status says NetworkReady=false with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from nodelab.errors import NodelabError

CNI_VERSION_DEFAULT = "1.0.0"


class NetworkError(NodelabError):
    """A CNI plugin failed; the message carries the plugin, the verb and its error JSON."""


@dataclass(frozen=True)
class PortMapping:
    host_port: int
    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""


@dataclass(frozen=True)
class PodIdentity:
    namespace: str
    name: str
    uid: str
    sandbox_id: str
    port_mappings: tuple[PortMapping, ...] = ()


@dataclass
class Attachment:
    ips: list[str] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)


class PodNetwork(Protocol):
    def status(self) -> tuple[bool, str]: ...

    def attach(self, pod: PodIdentity, netns_path: str) -> Attachment: ...

    def detach(self, pod: PodIdentity, netns_path: str) -> None: ...


class NoNetwork:
    """No CNI configured: pods get a loopback-only network namespace."""

    def status(self) -> tuple[bool, str]:
        return False, "the runtime was started without a CNI config dir"

    def attach(self, pod: PodIdentity, netns_path: str) -> Attachment:
        return Attachment()

    def detach(self, pod: PodIdentity, netns_path: str) -> None:
        return None


def load_network_config(conf_dir: Path) -> dict[str, Any] | None:
    """The first valid `.conflist` (or single-plugin `.conf`) in `conf_dir`, by file name."""
    if not conf_dir.is_dir():
        return None
    for path in sorted(conf_dir.iterdir()):
        if path.suffix not in (".conflist", ".conf", ".json"):
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if "plugins" in data:
            return dict(data)
        if "type" in data:
            return {"cniVersion": data.get("cniVersion", CNI_VERSION_DEFAULT),
                    "name": data.get("name", path.stem), "plugins": [data]}
    return None


class CNINetwork:
    """Runs CNI plugins found in `bin_dirs` for the conflist in `conf_dir`."""

    def __init__(self, conf_dir: Path, bin_dirs: Sequence[Path], cache_dir: Path) -> None:
        self.conf_dir = conf_dir
        self.bin_dirs = list(bin_dirs)
        self.cache_dir = cache_dir
        cache_dir.mkdir(parents=True, exist_ok=True)

    def status(self) -> tuple[bool, str]:
        if load_network_config(self.conf_dir) is None:
            return False, f"cni config uninitialized: no network config found in {self.conf_dir}"
        return True, ""

    def _cache_path(self, network: str, sandbox_id: str) -> Path:
        return self.cache_dir / f"{network}-{sandbox_id}-eth0"

    def attach(self, pod: PodIdentity, netns_path: str) -> Attachment:
        conflist = load_network_config(self.conf_dir)
        if conflist is None:
            raise NetworkError(f"no CNI network config in {self.conf_dir}; cannot wire the pod")
        prev: dict[str, Any] | None = None
        for plugin in conflist["plugins"]:
            prev = self._exec("ADD", conflist, plugin, pod, netns_path, prev)
        result = prev or {}
        cache = {"kind": "cniCacheV1", "network": conflist, "result": result}
        self._cache_path(conflist["name"], pod.sandbox_id).write_text(json.dumps(cache))
        ips = [str(ip["address"]).split("/")[0] for ip in result.get("ips", [])]
        return Attachment(ips=ips, result=result)

    def detach(self, pod: PodIdentity, netns_path: str) -> None:
        cached = list(self.cache_dir.glob(f"*-{pod.sandbox_id}-eth0"))
        if cached:
            data = json.loads(cached[0].read_text())
            conflist, result = data["network"], data.get("result")
        else:
            conflist, result = load_network_config(self.conf_dir), None
            if conflist is None:
                return
        for plugin in reversed(conflist["plugins"]):
            self._exec("DEL", conflist, plugin, pod, netns_path, result)
        for path in cached:
            path.unlink(missing_ok=True)

    def _find(self, plugin_type: str) -> Path:
        for directory in self.bin_dirs:
            candidate = directory / plugin_type
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
        raise NetworkError(
            f"CNI plugin {plugin_type!r} not found in {':'.join(map(str, self.bin_dirs))}; "
            "install containernetworking-plugins or fix --cni-bin-dir"
        )

    def _exec(
        self,
        verb: str,
        conflist: dict[str, Any],
        plugin: dict[str, Any],
        pod: PodIdentity,
        netns_path: str,
        prev: dict[str, Any] | None,
    ) -> dict[str, Any]:
        config = dict(plugin)
        config["name"] = conflist["name"]
        config["cniVersion"] = conflist.get("cniVersion", CNI_VERSION_DEFAULT)
        caps = plugin.get("capabilities") or {}
        runtime_config: dict[str, Any] = {}
        if caps.get("portMappings") and pod.port_mappings:
            runtime_config["portMappings"] = [
                {"hostPort": p.host_port, "containerPort": p.container_port,
                 "protocol": p.protocol, **({"hostIP": p.host_ip} if p.host_ip else {})}
                for p in pod.port_mappings
            ]
        if runtime_config:
            config["runtimeConfig"] = runtime_config
        if prev is not None:
            config["prevResult"] = prev
        binary = self._find(str(plugin["type"]))
        netns = netns_path if (verb != "DEL" or os.path.exists(netns_path)) else ""
        env = {
            "CNI_COMMAND": verb,
            "CNI_CONTAINERID": pod.sandbox_id,
            "CNI_NETNS": netns,
            "CNI_IFNAME": "eth0",
            "CNI_PATH": ":".join(map(str, self.bin_dirs)),
            "CNI_ARGS": (
                f"IgnoreUnknown=1;K8S_POD_NAMESPACE={pod.namespace};K8S_POD_NAME={pod.name};"
                f"K8S_POD_INFRA_CONTAINER_ID={pod.sandbox_id};K8S_POD_UID={pod.uid}"
            ),
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        }
        proc = subprocess.run([str(binary)], input=json.dumps(config).encode(), env=env,
                              capture_output=True, timeout=60, check=False)
        if proc.returncode != 0:
            detail = proc.stdout.decode(errors="replace").strip() or proc.stderr.decode(
                errors="replace").strip()
            raise NetworkError(
                f"CNI {verb} of plugin {plugin['type']!r} (network {conflist['name']!r}) for "
                f"pod {pod.namespace}/{pod.name} failed: {detail}"
            )
        if verb == "DEL" or not proc.stdout.strip():
            return prev or {}
        result: dict[str, Any] = json.loads(proc.stdout)
        return result
