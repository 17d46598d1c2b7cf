"""The runtime's settings: where it keeps state, which tools it drives, how it names things."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from nodelab.runtime.images.layers import DEFAULT_MAX_LAYER_BYTES

RUNTIME_NAME = "nodelab"
RUNTIME_VERSION = "0.1.0"
CRI_API_VERSION = "v1"
KUBE_API_VERSION = "0.1.0"


@dataclass
class RuntimeConfig:
    """Settings of one `runtime` process (one per node)."""

    state_dir: Path
    socket: Path
    cni_conf_dir: Path | None = None
    cni_bin_dirs: list[Path] = field(default_factory=lambda: [Path("/usr/lib/cni")])
    cgroup_root: str = "nodelab/runtime"
    netns_prefix: str = ""
    insecure_registries: list[str] = field(default_factory=list)
    runc: str = "runc"
    conmon: str = "conmon"
    pids_limit: int = 0
    stream_address: str = "127.0.0.1"
    stream_port: int = 0
    max_layer_size: int = DEFAULT_MAX_LAYER_BYTES

    def __post_init__(self) -> None:
        if not self.netns_prefix:
            digest = hashlib.sha256(str(self.state_dir.resolve()).encode()).hexdigest()
            self.netns_prefix = "nl" + digest[:4]
        if not self.netns_prefix.startswith("nl"):
            raise ValueError(f"netns prefix {self.netns_prefix!r} must start with 'nl'")
        if not self.cgroup_root.strip("/").startswith("nodelab"):
            raise ValueError(f"cgroup root {self.cgroup_root!r} must be under nodelab/")

    @property
    def runc_root(self) -> Path:
        return self.state_dir / "runc"

    @property
    def exit_dir(self) -> Path:
        return self.state_dir / "exits"

    @property
    def attach_dir(self) -> Path:
        return self.state_dir / "attach"
