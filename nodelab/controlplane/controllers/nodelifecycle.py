"""The node lifecycle controller: Unknown conditions for silent nodes, the not-ready and
unreachable taints, Ready=False on the pods of a node that went silent, and taint-based
eviction (see nodelifecycle_plan.py and nodelifecycle_pods_plan.py)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from nodelab.controlplane.controllers.nodelifecycle_plan import (
    FULL_DISRUPTION,
    GRACE_PERIOD,
    desired_taints,
    no_execute_mode,
    ready_status,
    unknown_conditions_patch,
    zone_key,
    zone_states,
)
from nodelab.controlplane.controllers.nodelifecycle_pods_plan import (
    DELETION_BY_TAINT_MANAGER,
    NODE_NOT_READY_EVENT,
    node_of,
    not_ready_conditions,
    plan_evictions,
    pod_key,
    pods_to_mark_not_ready,
)
from nodelab.kube.events import event_for
from nodelab.kube.objects import ObjectView
from nodelab.kube.restclient import RestError
from nodelab.kube.store import Store
from nodelab.kube.verbs import STRATEGIC_PATCH
from nodelab.kube.writer import Writer
from nodelab.kubewire.times import format_time

COMPONENT = "node-controller"
TAINT_EVICTION = "taint-eviction-controller"
log = logging.getLogger("nodelab.controllers")


def _taint_keys(taints: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(t.get("key") or "", t.get("effect") or "") for t in taints}


def _has_ready(node: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" for c in (node.get("status") or {}).get("conditions")
               or [])


class NodeLifecycleController:
    name = "node-lifecycle"
    kinds: tuple[str, ...] = ("nodes", "leases", "pods")
    periodic = True

    def __init__(self, grace: dt.timedelta = GRACE_PERIOD) -> None:
        self.grace = grace
        self._placed: dict[str, str] = {}  # pod uid -> node, as last seen (processPod's "new")
        self._retry: set[str] = set()  # nodes whose pods could not all be marked not ready
        self._pending: frozenset[str] = frozenset()  # pods waiting for their tolerationSeconds

    def sync(self, store: Store, writer: Writer) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        went_not_ready: set[str] = set()
        ready: dict[str, str] = {}
        taints: dict[str, list[dict[str, Any]]] = {}
        nodes = store.list("nodes")
        updated = []
        for node in nodes:
            name = node["metadata"]["name"]
            lease = store.get("leases", "kube-node-lease", name)
            before = ready_status(node)
            conditions = unknown_conditions_patch(node, lease, now, self.grace)
            if conditions is not None:
                node = writer.patch("nodes", None, name, {"status": {"conditions": conditions}},
                                    subresource="status")
            after = ready_status(node)
            if before == "True" and after != "True":  # the controller's own transition
                writer.event(event_for(node, "Node", "NodeNotReady",
                                       f"Node {name} status is now: NodeNotReady",
                                       component=COMPONENT))
                went_not_ready.add(name)
            elif after != "True" and name in self._retry:
                went_not_ready.add(name)
            if _has_ready(node):
                ready[name] = after
            updated.append(node)
        states = zone_states(updated)
        everywhere = all(state == FULL_DISRUPTION for state in states.values())
        for node in updated:
            name = node["metadata"]["name"]
            current = list((node.get("spec") or {}).get("taints") or [])
            wanted = desired_taints(node, now,
                                    no_execute_mode(states[zone_key(node)], everywhere))
            if _taint_keys(current) != _taint_keys(wanted):
                node = writer.patch("nodes", None, name, {"spec": {"taints": wanted}})
            taints[name] = list((node.get("spec") or {}).get("taints") or [])
        pods = store.list("pods")
        self._mark_not_ready(writer, pods_to_mark_not_ready(pods, ready, went_not_ready,
                                                            self._placed), now)
        self._placed = {p["metadata"]["uid"]: node_of(p) for p in pods
                        if node_of(p) and p["metadata"].get("uid")}
        self._evict(writer, [p for p in store.list("pods") if node_of(p) in taints], taints,
                    now)

    def _mark_not_ready(self, writer: Writer, pods: Sequence[ObjectView],
                        now: dt.datetime) -> None:
        """Ready=False on each pod (an update of the status as read: a pod changed since is
        retried on the next sync), then the pod's NodeNotReady event, as MarkPodsNotReady."""
        failed: set[str] = set()
        for pod in pods:
            conditions = not_ready_conditions(pod, now)
            if conditions is None:
                continue
            metadata = pod["metadata"]
            try:
                writer.patch("pods", metadata["namespace"], metadata["name"],
                             {"metadata": {"resourceVersion": metadata["resourceVersion"]},
                              "status": {"conditions": conditions}}, subresource="status")
            except RestError as exc:
                if exc.status != 404:  # gone: nothing left to do with it
                    log.info("could not mark pod %s/%s not ready: %s", metadata["namespace"],
                             metadata["name"], exc.reason)
                    failed.add(node_of(pod))
                continue
            reason, message = NODE_NOT_READY_EVENT
            writer.event(event_for(pod, "Pod", reason, message, component=COMPONENT,
                                   event_type="Warning"))
        self._retry = failed

    def _evict(self, writer: Writer, pods: list[dict[str, Any]],
               taints: dict[str, list[dict[str, Any]]], now: dt.datetime) -> None:
        plan = plan_evictions(pods, taints, now, self._pending)
        for pod in plan.cancel:
            writer.event(event_for(pod, "Pod", "TaintManagerEviction",
                                   f"Cancelling deletion of Pod {pod_key(pod)}",
                                   component=TAINT_EVICTION))
        for pod in plan.evict:
            metadata = pod["metadata"]
            writer.event(event_for(pod, "Pod", "TaintManagerEviction",
                                   f"Marking for deletion Pod {pod_key(pod)}",
                                   component=TAINT_EVICTION))
            condition = {**DELETION_BY_TAINT_MANAGER, "lastTransitionTime": format_time(now)}
            try:
                writer.patch("pods", metadata["namespace"], metadata["name"],
                             {"metadata": {"uid": metadata["uid"]},
                              "status": {"conditions": [condition]}},
                             subresource="status", content_type=STRATEGIC_PATCH)
                writer.delete("pods", metadata["namespace"], metadata["name"])
            except RestError as exc:
                if exc.status != 404:
                    raise
        self._pending = plan.pending
