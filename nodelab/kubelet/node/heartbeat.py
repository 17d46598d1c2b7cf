"""Heartbeats: the node Lease and when a computed status is worth posting.

Since Kubernetes 1.17 a kubelet proves it is alive in two ways:

- a **Lease** named after the node in `kube-node-lease`, renewed every 10 s (a quarter of its
  40 s duration). It is tiny, so renewing it often is cheap; the node lifecycle controller
  marks the node Unknown when the Lease stops being renewed;
- the **Node status**, computed every `nodeStatusUpdateFrequency` (10 s) but *posted* only when
  something other than the heartbeat times changed, or when `nodeStatusReportFrequency` (5 min)
  has passed since the last post.

At start-up a node is usually NotReady at its first post (the pod network's CNI config comes
later), and the next computation would be up to `nodeStatusUpdateFrequency` away. Upstream's
`fastStatusUpdateOnce` closes that gap: every 100 ms it asks the runtime whether the node would
now be Ready and posts the status the moment it would, then stops; it also stops when the node
is Ready already or after `nodeReadyGracePeriod` (120 s). `fast_status_step` is that decision.

`status_changed`, `should_post_status`, `fast_status_step` and `lease_object` are the pure
rules; the loops that apply them live in `agent.py`.
"""

from __future__ import annotations

import copy
from typing import Any

LEASE_NAMESPACE = "kube-node-lease"
FAST_STATUS_INTERVAL = 0.1  # upstream's fastStatusUpdateOnce period
NODE_READY_GRACE_PERIOD = 120.0  # upstream's nodeReadyGracePeriod


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


def fast_status_step(posted_ready: bool, errors: list[str], elapsed: float) -> str:
    """One round of upstream's fast status update at start-up: `stop` when the node's last
    posted Ready is True or `elapsed` (seconds since start) reached `NODE_READY_GRACE_PERIOD`,
    `post` when the runtime has no Ready errors now (`errors`: `conditions.runtime_errors` of
    its status), else `wait` for the next round."""
    if posted_ready or elapsed >= NODE_READY_GRACE_PERIOD:
        return "stop"
    return "wait" if errors else "post"


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
