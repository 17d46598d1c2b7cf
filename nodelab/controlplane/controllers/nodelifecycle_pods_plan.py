"""What the node lifecycle controller does to the pods of an unhealthy node: pure decisions.

**Ready=False on the pods of a node that stopped answering** (upstream's
`controllerutil.MarkPodsNotReady`, pkg/controller/util/node). When the controller itself moves
a node's Ready condition from True to Unknown (the kubelet went silent past the grace period),
every pod on that node gets its `Ready` condition set to False, so the EndpointSlice
controller marks its endpoints not ready and kube-proxy drops them; nothing else of the pod
changes (`ContainersReady`, the container statuses and the reason and message of the
condition stay as the kubelet last wrote them; `lastTransitionTime` is now). A pod that has no
Ready condition yet, or whose Ready is already False, is left alone (upstream's
`UpdatePodCondition` reports no change and nothing is written). Upstream marks pods at that
transition (retrying a node whose marking failed) and, through `processPod`, every pod that
appears bound to a node whose Ready is not True (a new pod, or one seen for the first time
after the controller started); it does not mark pods when the kubelet itself posts
Ready=False: a live kubelet keeps its pods' readiness itself. A kubelet that comes back posts
its pods' statuses again, Ready=True with them.

**Taint-based eviction** (upstream's taint eviction controller, pkg/controller/tainteviction):
a pod on a node with NoExecute taints it does not tolerate is deleted at once; one it
tolerates with `tolerationSeconds` (the DefaultTolerationSeconds admission gives every pod
300 s for `not-ready` and `unreachable`) that long after the taint was added. A pod whose
eviction was pending and no longer is (the taint went, the node is Ready again) gets the event
`Cancelling deletion of Pod <ns>/<name>`. Before deleting, the controller adds the condition
`DisruptionTarget` (reason `DeletionByTaintManager`, message `Taint manager: deleting due to
NoExecute taint`), so the pod's owner can tell an eviction from a failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

from nodelab.controlplane.controllers.nodelifecycle_plan import eviction_time
from nodelab.kube.objects import ObjectView
from nodelab.kubewire.times import format_time

NODE_NOT_READY_EVENT = ("NodeNotReady", "Node is not ready")
DELETION_BY_TAINT_MANAGER = {
    "type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
    "message": "Taint manager: deleting due to NoExecute taint",
}


def pod_key(pod: ObjectView) -> str:
    metadata = pod.get("metadata") or {}
    return f"{metadata.get('namespace', '')}/{metadata.get('name', '')}"


def node_of(pod: ObjectView) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def not_ready_conditions(pod: ObjectView, now: dt.datetime) -> list[dict[str, Any]] | None:
    """The pod's conditions with Ready set to False, or None when nothing changes (no Ready
    condition, or it is False already): MarkPodsNotReady for one pod."""
    conditions = [dict(c) for c in (pod.get("status") or {}).get("conditions") or []]
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") == "False":
        return None
    ready.update(status="False", lastTransitionTime=format_time(now))
    return conditions


def pods_to_mark_not_ready(pods: Sequence[ObjectView], node_ready: Mapping[str, str],
                           went_not_ready: Set[str],
                           placed: Mapping[str, str]) -> list[ObjectView]:
    """The pods whose Ready must go False, in the order given.

    `node_ready`: the Ready status of every node that has a Ready condition; `went_not_ready`:
    the nodes whose Ready the controller just moved away from True (and those whose marking
    failed before); `placed`: each pod's node (by uid) when the controller last looked, so a
    pod bound since then, or not seen before, counts as new (upstream's processPod)."""
    marked = []
    for pod in pods:
        node = node_of(pod)
        if not node or node not in node_ready:
            continue
        uid = str((pod.get("metadata") or {}).get("uid") or "")
        new = placed.get(uid) != node
        if node in went_not_ready or (new and node_ready[node] != "True"):
            marked.append(pod)
    return marked


@dataclass(frozen=True)
class EvictionPlan:
    evict: tuple[ObjectView, ...]  # delete now (DisruptionTarget first, then the event)
    cancel: tuple[ObjectView, ...]  # were waiting for their tolerationSeconds, no longer
    pending: frozenset[str]  # waiting for their tolerationSeconds after this sync


def plan_evictions(pods: Sequence[ObjectView], taints: Mapping[str, Sequence[ObjectView]],
                   now: dt.datetime, pending: Set[str]) -> EvictionPlan:
    """Which pods to delete for their nodes' NoExecute taints (`taints`: each node's taints),
    and which pending deletions are cancelled, given those pending before (`pending`)."""
    evict: list[ObjectView] = []
    waiting: set[str] = set()
    for pod in pods:
        key = pod_key(pod)
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            if key in pending:  # being deleted anyway: neither evicted nor cancelled
                waiting.add(key)
            continue
        no_execute = [t for t in taints.get(node_of(pod), ()) if t.get("effect") == "NoExecute"]
        when = eviction_time(pod, no_execute) if no_execute else None
        if when is None:
            continue
        if when <= now:
            evict.append(pod)
        else:
            waiting.add(key)
    evicted = {pod_key(p) for p in evict}
    cancel = tuple(p for p in pods if (k := pod_key(p)) in pending and k not in waiting
                   and k not in evicted)
    return EvictionPlan(tuple(evict), cancel, frozenset(waiting))
