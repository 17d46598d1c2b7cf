"""The container runtime: a CRI v1 gRPC server on runc (see docs/runtime.md).

The kubelet talks to it only over CRI (`python -m nodelab.runtime --socket ...`). The names below
are for the lab harness (starting it in-process), the views (pull progress, plans) and notebooks
(showing the OCI spec a ContainerConfig becomes):

- `RuntimeConfig`, `RuntimeServer`: settings and the in-process server (`start()`, `stop()`);
- `container_spec`, `SandboxContext`, `HostFacts`: the OCI runtime spec plan (pure);
- `ImageStore`, `Puller`, `pull_progress`: the image store and pulls in flight;
- `PodNetwork`, `CNINetwork`, `NoNetwork`: the sandbox network step;
- `teardown_plan`, `apply_teardown`: remove what a dead runtime left, from its state dir.

Private, by role: `cri/` (the gRPC services and the records-to-CRI `convert`), `images/` (the
store, pulls, platform choice, layer unpacking), `streaming/` (the exec/attach/port-forward server,
WebSocket framing, channels), and the lifecycle beside them: `sandboxes` (Run/Stop/Remove
PodSandbox), `namespaces` (pinned namespaces and the pod's /etc files), `containers` and `monitor`
(runc + conmon), `records` (state on disk), `cgroups`, `spec` with `capabilities`, `seccomp` and
`host_facts` (its inputs read from the host), `events`, `server`.
"""

from __future__ import annotations

import json
from pathlib import Path

from nodelab.runtime.config import RuntimeConfig
from nodelab.runtime.images.pull import Puller
from nodelab.runtime.images.store import ImageStore, PullProgress
from nodelab.runtime.network import CNINetwork, NoNetwork, PodNetwork
from nodelab.runtime.server import RuntimeServer
from nodelab.runtime.spec import HostFacts, SandboxContext, container_spec
from nodelab.runtime.teardown import TeardownPlan, apply_teardown, teardown_plan


def pull_progress(state_dir: Path) -> list[PullProgress]:
    """Pulls in flight in the runtime whose `--state-dir` is `state_dir` (bytes done/total)."""
    result = []
    for path in sorted((state_dir / "images" / "pulls").glob("*.json")):
        try:
            result.append(PullProgress(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            continue
    return result


__all__ = [
    "CNINetwork",
    "HostFacts",
    "ImageStore",
    "NoNetwork",
    "PodNetwork",
    "PullProgress",
    "Puller",
    "RuntimeConfig",
    "RuntimeServer",
    "SandboxContext",
    "TeardownPlan",
    "apply_teardown",
    "container_spec",
    "pull_progress",
    "teardown_plan",
]
