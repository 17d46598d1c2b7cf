"""Ephemeral containers (`kubectl debug`): added to a running pod through the
`pods/ephemeralcontainers` subresource, started once, never restarted (`actions.py` decides).

With `targetContainerName`, the ephemeral container joins that container's PID namespace (CRI
`NamespaceMode.TARGET` with the target's container ID), so `ps` in a debug shell sees the
target's processes, as upstream's kubelet does; the target must be running.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


def with_target_pid(config: Mapping[str, Any], target_id: str) -> dict[str, Any]:
    """The ContainerConfig `config`, in the PID namespace of container `target_id`."""
    out = copy.deepcopy(dict(config))
    security = out.setdefault("linux", {}).setdefault("securityContext", {})
    options = security.setdefault("namespaceOptions", {})
    options["pid"] = "TARGET"
    options["targetId"] = target_id
    return out
