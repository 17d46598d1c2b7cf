"""Where a lab keeps its state: one directory per lab under the state base.

The base is `$NODELAB_STATE_DIR` when set, else `/var/lib/nodelab` for root and
`$XDG_STATE_HOME/nodelab` (`~/.local/state/nodelab`) for anyone else. A lab's directory holds
its description (`lab.json`), its ledger, the lock that serialises `up` and `down`, pidfiles,
daemon logs, the registry's storage, the kubeconfigs and one directory per node.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def state_base() -> Path:
    explicit = os.environ.get("NODELAB_STATE_DIR")
    if explicit:
        return Path(explicit)
    if os.geteuid() == 0:
        return Path("/var/lib/nodelab")
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "nodelab"


@dataclass(frozen=True)
class LabPaths:
    root: Path

    @classmethod
    def for_lab(cls, lab: str, base: Path | None = None) -> LabPaths:
        return cls((base or state_base()) / lab)

    @property
    def description(self) -> Path:
        return self.root / "lab.json"

    @property
    def ledger(self) -> Path:
        return self.root / "ledger.jsonl"

    @property
    def lock(self) -> Path:
        return self.root / "lock"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def tmp(self) -> Path:
        """The daemons' TMPDIR: what they leave there (the Kubernetes client writes a
        kubeconfig's inline certificates and keys to temp files) goes with the lab, even after
        a kill -9."""
        return self.root / "tmp"

    @property
    def registry(self) -> Path:
        return self.root / "registry"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    def node(self, node: str) -> Path:
        return self.root / "nodes" / node

    def cri_socket(self, node: str) -> Path:
        return self.node(node) / "runtime.sock"

    def pidfile(self, daemon: str) -> Path:
        return self.run / f"{daemon.replace('/', '-')}.pid"

    def log(self, daemon: str) -> Path:
        return self.logs / f"{daemon.replace('/', '-')}.log"
