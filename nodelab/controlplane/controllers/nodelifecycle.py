"""The node lifecycle controller: Unknown conditions for silent nodes, the not-ready and
unreachable taints, and taint-based eviction (see nodelifecycle_plan.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from nodelab.controlplane.controllers.nodelifecycle_plan import (
    GRACE_PERIOD,
    desired_taints,
    eviction_time,
    ready_status,
    unknown_conditions_patch,
)
from nodelab.kube.events import event_for
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer

COMPONENT = "node-controller"


def _taint_keys(taints: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(t.get("key") or "", t.get("effect") or "") for t in taints}


class NodeLifecycleController:
    name = "node-lifecycle"
    kinds: tuple[str, ...] = ("nodes", "leases", "pods")
    periodic = True

    def __init__(self, grace: dt.timedelta = GRACE_PERIOD) -> None:
        self.grace = grace

    def sync(self, store: Store, writer: Writer) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        for node in store.list("nodes"):
            name = node["metadata"]["name"]
            lease = store.get("leases", "kube-node-lease", name)
            before = ready_status(node)
            conditions = unknown_conditions_patch(node, lease, now, self.grace)
            if conditions is not None:
                node = writer.patch("nodes", None, name, {"status": {"conditions": conditions}},
                                    subresource="status")
            after = ready_status(node)
            if after != before and after != "True":
                writer.event(event_for(node, "Node", "NodeNotReady",
                                       f"Node {name} status is now: NodeNotReady",
                                       component=COMPONENT))
            current = list((node.get("spec") or {}).get("taints") or [])
            wanted = desired_taints(node, now)
            if _taint_keys(current) != _taint_keys(wanted):
                node = writer.patch("nodes", None, name, {"spec": {"taints": wanted}})
            self._evict(store, writer, node, now)

    def _evict(self, store: Store, writer: Writer, node: dict[str, Any],
               now: dt.datetime) -> None:
        taints = (node.get("spec") or {}).get("taints") or []
        if not any(t.get("effect") == "NoExecute" for t in taints):
            return
        name = node["metadata"]["name"]
        for pod in store.list("pods"):
            if (pod.get("spec") or {}).get("nodeName") != name:
                continue
            if (pod.get("metadata") or {}).get("deletionTimestamp"):
                continue
            when = eviction_time(pod, taints)
            if when is None or when > now:
                continue
            metadata = pod["metadata"]
            writer.event(event_for(pod, "Pod", "TaintManagerEviction",
                                   f"Marking for deletion Pod {metadata['namespace']}/"
                                   f"{metadata['name']}", component="taint-eviction-controller"))
            writer.delete("pods", metadata["namespace"], metadata["name"])
