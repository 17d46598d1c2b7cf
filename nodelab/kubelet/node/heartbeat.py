"""Heartbeats: the node Lease and when a computed status is worth posting.

Since Kubernetes 1.17 a kubelet proves it is alive in two ways:

- a **Lease** named after the node in `kube-node-lease`, renewed every 10 s (a quarter of its
  40 s duration). It is tiny, so renewing it often is cheap; the node lifecycle controller
  marks the node Unknown when the Lease stops being renewed;
- the **Node status**, computed every `nodeStatusUpdateFrequency` (10 s) but *posted* only when
  something other than the heartbeat times changed, or when `nodeStatusReportFrequency` (5 min)
  has passed since the last post.

`status_changed`, `should_post_status` and `lease_object` are the pure rules; the loops that
apply them live in `agent.py`.
"""

from __future__ import annotations

import copy
from typing import Any

LEASE_NAMESPACE = "kube-node-lease"


def _without_heartbeats(status: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(status)
    for cond in stripped.get("conditions", []):
        cond.pop("lastHeartbeatTime", None)
    return stripped


def status_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    """True when `new` differs from `old` in anything but the conditions' heartbeat times."""
    return old is None or _without_heartbeats(old) != _without_heartbeats(new)


def should_post_status(
    last_posted: dict[str, Any] | None,
    new: dict[str, Any],
    last_post_at: float | None,
    now: float,
    report_frequency: float,
) -> bool:
    if last_post_at is None or status_changed(last_posted, new):
        return True
    return now - last_post_at >= report_frequency


def lease_object(
    node_name: str,
    node_uid: str | None,
    duration_seconds: int,
    renew_time: str,
    acquire_time: str | None = None,
) -> dict[str, Any]:
    """The node's Lease; owned by its Node so it goes when the Node is deleted."""
    metadata: dict[str, Any] = {"name": node_name, "namespace": LEASE_NAMESPACE}
    if node_uid:
        metadata["ownerReferences"] = [
            {"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node_uid}
        ]
    spec: dict[str, Any] = {
        "holderIdentity": node_name,
        "leaseDurationSeconds": duration_seconds,
        "renewTime": renew_time,
    }
    if acquire_time:
        spec["acquireTime"] = acquire_time
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": spec,
    }
