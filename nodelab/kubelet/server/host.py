"""What the kubelet server needs of the kubelet it serves: upstream's `server.HostInterface`.

The server (`https.py`) is handed a `KubeletHost`, not the `Kubelet`, so it depends only on
this small face: the node's name and settings, the API and CRI clients it proxies to, the
Summary API and metrics, and whether the kubelet is stopping. `agent.Kubelet` implements it;
tests can serve a stand-in.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from nodelab.kubelet.api import ApiAccess
from nodelab.kubelet.config import KubeletConfig, KubeletSettings
from nodelab.kubelet.cri import CRIClient


class KubeletHost(Protocol):
    name: str
    settings: KubeletSettings
    config: KubeletConfig
    api: ApiAccess
    cri: CRIClient
    stop_event: threading.Event

    def stats_summary(self) -> dict[str, Any]:
        """`/stats/summary`: the Summary API document of this node."""

    def resource_metrics(self) -> str:
        """`/metrics/resource`: CPU and memory of the node, pods and containers (Prometheus)."""

    def metrics(self) -> str:
        """`/metrics`: the kubelet's metrics in the Prometheus text format."""
