"""The sandbox's network step, behind a small interface: attach and detach a pod's netns.

The runtime does not wire pods itself; it calls CNI plugins *through the CNI spec* (exec with
`CNI_*` env and the network config on stdin), as containerd's libcni does, so any spec-following
plugins work: the reference plugins in `/usr/lib/cni`, or nodelab's own (`nodelab/cni/`).

`PodNetwork` is what the sandbox code needs:

- `status()`: is a network configured? Status reports NetworkReady=false until a conflist
  appears in the conf dir (the kubelet then keeps the node NotReady, as with containerd);
- `attach(...)`: CNI ADD of the first conflist in the conf dir (sorted by file name), through
  nodelab's `CNIInvoker` (`nodelab/cni/invoker.py`: plugins in order with `prevResult` chained,
  `portMappings` given to plugins declaring that capability, results cached under the state
  dir). The conflist used is kept beside the cache, so DEL uses the same one even if the conf
  dir changed meanwhile;
- `detach(...)`: CNI DEL in reverse order with the cached result; idempotent, and it works when
  the netns is already gone (then CNI_NETNS is empty, as the spec allows).

`NoNetwork` is the host-less fallback for runtimes started without CNI dirs: the pod gets a
netns with only `lo`, and Status says NetworkReady=false with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from nodelab.cni.config import load_conflist, parse_conflist
from nodelab.cni.invoker import CNIInvoker
from nodelab.cni.portmap_rules import PortMapping
from nodelab.errors import NodelabError


class NetworkError(NodelabError):
    """A CNI plugin failed; the message carries the plugin, the verb and its error JSON."""


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


def find_network_config(conf_dir: Path) -> Path | None:
    """The first `.conflist` / `.conf` / `.json` file in `conf_dir` by name, as libcni picks."""
    if not conf_dir.is_dir():
        return None
    for path in sorted(conf_dir.iterdir()):
        if path.suffix in (".conflist", ".conf", ".json") and path.is_file():
            return path
    return None


class CNINetwork:
    """Wires pods with the conflist in `conf_dir`, through nodelab's libcni-style CNIInvoker."""

    def __init__(self, conf_dir: Path, bin_dirs: Sequence[Path], cache_dir: Path) -> None:
        self.conf_dir = conf_dir
        self.invoker = CNIInvoker(list(bin_dirs), cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.cache_dir = cache_dir

    def status(self) -> tuple[bool, str]:
        path = find_network_config(self.conf_dir)
        if path is None:
            return False, f"cni config uninitialized: no network config found in {self.conf_dir}"
        try:
            self._load(path)
        except NodelabError as exc:
            return False, f"cni config {path} is invalid: {exc}"
        return True, ""

    def _load(self, path: Path) -> Any:
        return load_conflist(path)

    def _conflist(self) -> Any:
        path = find_network_config(self.conf_dir)
        if path is None:
            raise NetworkError(f"no CNI network config in {self.conf_dir}; cannot wire the pod")
        return self._load(path)

    @staticmethod
    def _args(pod: PodIdentity) -> dict[str, str]:
        return {"IgnoreUnknown": "1", "K8S_POD_NAMESPACE": pod.namespace,
                "K8S_POD_NAME": pod.name, "K8S_POD_INFRA_CONTAINER_ID": pod.sandbox_id,
                "K8S_POD_UID": pod.uid}

    @staticmethod
    def _caps(pod: PodIdentity) -> dict[str, Any]:
        if not pod.port_mappings:
            return {}
        return {"portMappings": [
            {"hostPort": p.host_port, "containerPort": p.container_port, "protocol": p.protocol,
             **({"hostIP": p.host_ip} if p.host_ip else {})}
            for p in pod.port_mappings]}

    def attach(self, pod: PodIdentity, netns_path: str) -> Attachment:
        conflist = self._conflist()
        (self.cache_dir / f"{pod.sandbox_id}.conflist").write_bytes(conflist.to_bytes())
        result = self.invoker.add(conflist, pod.sandbox_id, netns_path, "eth0",
                                  self._args(pod), self._caps(pod))
        ips = [ip.address.split("/")[0] for ip in result.sandbox_ips()] or [
            ip.address.split("/")[0] for ip in result.ips]
        return Attachment(ips=ips, result=result.to_json())

    def detach(self, pod: PodIdentity, netns_path: str) -> None:
        saved = self.cache_dir / f"{pod.sandbox_id}.conflist"
        conflist = parse_conflist(saved.read_bytes()) if saved.exists() else self._conflist()
        netns = netns_path if netns_path and os.path.exists(netns_path) else None
        self.invoker.delete(conflist, pod.sandbox_id, netns, "eth0", self._args(pod),
                            self._caps(pod))
        saved.unlink(missing_ok=True)
