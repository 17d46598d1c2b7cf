"""Registration: create this node's Node object, retrying with backoff; idempotent.

Upstream's `registerWithAPIServer` tries to create the Node, sleeping 100 ms, then doubling up
to 7 s between attempts, until the API server answers. If the Node already exists (a kubelet
restart, or `kill -9` and start again), the existing object is taken over: the kubelet's own
labels are reconciled and its status is left for the first heartbeat, so the conditions'
transition times survive the restart and the node never flips to NotReady.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from nodelab.kubelet.api import STRATEGIC_PATCH, ApiAccess, status_of

log = logging.getLogger("nodelab.kubelet")

OWNED_LABELS = ("kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch",
                "beta.kubernetes.io/os", "beta.kubernetes.io/arch")


def backoff_delays(cap: float, first: float = 0.1) -> list[float]:
    """The sleeps between registration attempts until the cap is reached (then the cap)."""
    delays, delay = [], first
    while delay < cap:
        delays.append(delay)
        delay *= 2
    return [*delays, cap]


def register_node(
    api: ApiAccess, node: dict[str, Any], cap: float, stop: threading.Event
) -> dict[str, Any] | None:
    """Create (or take over) `node`; returns the stored Node, None if stopped first."""
    delays = backoff_delays(cap)
    attempt = 0
    name = node["metadata"]["name"]
    while not stop.is_set():
        try:
            created = api.create("nodes", None, node)
            log.info("registered node %s", name)
            return created
        except Exception as exc:  # connection errors come in many types
            if status_of(exc) == 409:
                return _take_over(api, node)
            delay = delays[min(attempt, len(delays) - 1)]
            attempt += 1
            log.warning("unable to register node %s (attempt %d, retry in %.1fs): %s",
                        name, attempt, delay, str(exc).splitlines()[0] if str(exc) else exc)
            stop.wait(delay)
    return None


def _take_over(api: ApiAccess, node: dict[str, Any]) -> dict[str, Any]:
    name = node["metadata"]["name"]
    wanted = {k: v for k, v in node["metadata"]["labels"].items() if k in OWNED_LABELS}
    existing = api.get("nodes", None, name)
    current = existing.get("metadata", {}).get("labels") or {}
    if any(current.get(k) != v for k, v in wanted.items()):
        existing = api.patch("nodes", None, name, {"metadata": {"labels": wanted}},
                             content_type=STRATEGIC_PATCH)
    log.info("node %s was already registered: taking it over", name)
    return existing
