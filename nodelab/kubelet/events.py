"""Node events, as the kubelet records them (`kubectl describe node` shows them).

Upstream's node events are core/v1 Events whose involvedObject is the Node, with
`involvedObject.uid` set to the node *name* (a kubelet quirk kept here), source component
`kubelet` and host the node name. Reasons: Starting, NodeReady, NodeNotReady,
NodeHasSufficientMemory, NodeHasInsufficientMemory, NodeHasNoDiskPressure, NodeHasDiskPressure,
NodeHasSufficientPID, NodeHasInsufficientPID, RegisteredNode is the controller's.
`node_event` builds one, `pod_event` the per-pod ones (Evicted).
"""

from __future__ import annotations

import secrets
from typing import Any

from nodelab.kubewire.events import event

_MESSAGES = {
    "Starting": "Starting kubelet.",
    "NodeReady": "Node {node} status is now: NodeReady",
    "NodeNotReady": "Node {node} status is now: NodeNotReady",
    "NodeAllocatableEnforced": "Updated Node Allocatable limit across pods",
}


def node_event_message(reason: str, node: str) -> str:
    template = _MESSAGES.get(reason, "Node {node} status is now: " + reason)
    return template.format(node=node)


def _event(
    involved: dict[str, Any], reason: str, message: str, kind: str, node: str, now: str
) -> dict[str, Any]:
    return event(involved, f"{involved['name']}.{secrets.token_hex(8)}", reason, message,
                 component="kubelet", stamp=now, event_type=kind, host=node)


def node_event(node: str, reason: str, now: str, kind: str = "Normal") -> dict[str, Any]:
    involved = {"kind": "Node", "name": node, "uid": node, "apiVersion": "v1"}
    return _event(involved, reason, node_event_message(reason, node), kind, node, now)


def pod_event(
    pod: dict[str, Any], node: str, reason: str, message: str, now: str, kind: str = "Warning"
) -> dict[str, Any]:
    meta = pod["metadata"]
    involved = {"kind": "Pod", "name": meta["name"], "namespace": meta["namespace"],
                "uid": meta.get("uid", ""), "apiVersion": "v1"}
    return _event(involved, reason, message, kind, node, now)
