"""What the runtime remembers about sandboxes and containers, on disk, so it survives `kill -9`.

Each sandbox and container has a directory under the state dir holding `record.json`: the CRI
config it was created from (the protobuf, serialized) and the facts the runtime decided (netns
path, pod IP, cgroup path, log path, timestamps). A record is written *before* the thing it
describes is created and rewritten atomically (`rename`) on every change, so after a crash the
runtime finds every sandbox and container it may have created and can check each against the
kernel and runc. Live facts (is it running, its exit code) are never cached here: they are read
from the per-container monitor's exit files and from runc each time (see `containers.py`).

Names are reserved as upstream does: a sandbox name is `name_namespace_uid_attempt`, a
container name `name_sandboxname_..._attempt`; a second create with a held name fails with an
error naming the holder (containerd: "name ... is reserved for ...").
"""

from __future__ import annotations

import base64
import functools
import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from nodelab.errors import NodelabError

_R = TypeVar("_R")


class NameReserved(NodelabError):
    """A sandbox or container name that another one already holds."""


def now_ns() -> int:
    return time.time_ns()


def encode_proto(message: Any) -> str:
    return base64.b64encode(message.SerializeToString()).decode()


def decode_proto(cls: Any, text: str) -> Any:
    message = cls()
    message.ParseFromString(base64.b64decode(text))
    return message


@functools.lru_cache(maxsize=8192)
def stored_config(cls: Any, text: str) -> Any:
    """A stored sandbox or container config, decoded once (a config never changes, and the
    kubelet's PLEG lists every record every second). Shared: read it, copy from it, never
    change it."""
    return decode_proto(cls, text)


@functools.lru_cache(maxsize=8192)
def config_labels(cls: Any, text: str) -> Mapping[str, str]:
    """The labels of a stored config: the kubelet lists by label for every pod it syncs (with
    110 pods, decoding every record on every list was most of an idle runtime's CPU)."""
    return MappingProxyType(dict(stored_config(cls, text).labels))


@dataclass
class SandboxRecord:
    id: str
    name: str
    config: str  # base64 PodSandboxConfig
    created_at: int
    netns_name: str = ""
    netns_path: str = ""
    ipc_path: str = ""
    uts_path: str = ""
    pid_path: str = ""
    infra_pid: int = 0
    ip: str = ""
    additional_ips: list[str] = field(default_factory=list)
    cgroup_parent: str = ""
    network_attached: bool = False
    setup_complete: bool = False
    state: str = "READY"  # READY | NOTREADY
    runtime_handler: str = ""
    shm_path: str = ""  # the pod's /dev/shm tmpfs (none: a hostIPC pod, or an older record)


@dataclass
class ContainerRecord:
    id: str
    name: str
    sandbox_id: str
    config: str  # base64 ContainerConfig
    image_id: str
    image_ref: str
    image_spec: str
    created_at: int
    log_path: str = ""
    cgroups_path: str = ""
    pid: int = 0
    started_at: int = 0
    stop_signal: str = "SIGTERM"
    chain_ids: list[str] = field(default_factory=list)
    removing: bool = False
    resources: str = ""  # base64 LinuxContainerResources after UpdateContainerResources
    start_error: str = ""
    finished_at: int = 0  # only for start errors; real exits come from the monitor
    bundle_ready: bool = False


def sandbox_name(config: Any) -> str:
    md = config.metadata
    return f"{md.name}_{md.namespace}_{md.uid}_{md.attempt}"


def container_name(config: Any, sandbox_config: Any) -> str:
    md, smd = config.metadata, sandbox_config.metadata
    return f"{md.name}_{smd.name}_{smd.namespace}_{smd.uid}_{md.attempt}"


class RecordStore:
    """Sandbox and container records under `<state>/sandboxes/` and `<state>/containers/`."""

    def __init__(self, state_dir: Path) -> None:
        self.sandbox_root = state_dir / "sandboxes"
        self.container_root = state_dir / "containers"
        self.sandbox_root.mkdir(parents=True, exist_ok=True)
        self.container_root.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.sandboxes: dict[str, SandboxRecord] = {}
        self.containers: dict[str, ContainerRecord] = {}
        self._load()

    def _load(self) -> None:
        for path in self.sandbox_root.glob("*/record.json"):
            try:
                record = SandboxRecord(**json.loads(path.read_text()))
            except (OSError, ValueError, TypeError):
                continue
            self.sandboxes[record.id] = record
        for path in self.container_root.glob("*/record.json"):
            try:
                crecord = ContainerRecord(**json.loads(path.read_text()))
            except (OSError, ValueError, TypeError):
                continue
            self.containers[crecord.id] = crecord

    def sandbox_dir(self, sandbox_id: str) -> Path:
        return self.sandbox_root / sandbox_id

    def container_dir(self, container_id: str) -> Path:
        return self.container_root / container_id

    def save_sandbox(self, record: SandboxRecord) -> None:
        with self.lock:
            self.sandboxes[record.id] = record
            _write(self.sandbox_dir(record.id) / "record.json", asdict(record))

    def save_container(self, record: ContainerRecord) -> None:
        with self.lock:
            self.containers[record.id] = record
            _write(self.container_dir(record.id) / "record.json", asdict(record))

    def reserve_sandbox(self, record: SandboxRecord) -> None:
        """Save a new sandbox record unless its name is held."""
        with self.lock:
            for other in self.sandboxes.values():
                if other.name == record.name:
                    raise NameReserved(
                        f"failed to reserve sandbox name {record.name!r}: name {record.name!r} "
                        f"is reserved for {other.id!r}; remove that sandbox first"
                    )
            self.save_sandbox(record)

    def reserve_container(self, record: ContainerRecord) -> None:
        with self.lock:
            for other in self.containers.values():
                if other.name == record.name:
                    raise NameReserved(
                        f"failed to reserve container name {record.name!r}: name "
                        f"{record.name!r} is reserved for {other.id!r}; remove that container "
                        "first"
                    )
            self.save_container(record)

    def forget_sandbox(self, sandbox_id: str) -> None:
        with self.lock:
            self.sandboxes.pop(sandbox_id, None)

    def forget_container(self, container_id: str) -> None:
        with self.lock:
            self.containers.pop(container_id, None)

    def find_sandbox(self, prefix: str) -> SandboxRecord | None:
        with self.lock:
            return _by_prefix(self.sandboxes, prefix)

    def find_container(self, prefix: str) -> ContainerRecord | None:
        with self.lock:
            return _by_prefix(self.containers, prefix)

    def containers_of(self, sandbox_id: str) -> list[ContainerRecord]:
        with self.lock:
            return [c for c in self.containers.values() if c.sandbox_id == sandbox_id]


def _by_prefix(table: dict[str, _R], prefix: str) -> _R | None:
    if not prefix:
        return None
    if prefix in table:
        return table[prefix]
    matches = [v for k, v in table.items() if k.startswith(prefix)]
    return matches[0] if len(matches) == 1 else None


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)
