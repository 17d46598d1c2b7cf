"""The scheduler as a controller: bind each pending pod to the node its plan picks.

A pod is pending when it has no `spec.nodeName`, is not being deleted and names the default
scheduler. Pods are taken by priority, then oldest first (upstream's PrioritySort); each
binding (`pods/binding`) is counted at once for the pods that follow in the same pass. A pod
that fits nowhere gets the PodScheduled=False condition (reason Unschedulable) and a
FailedScheduling event with upstream's message, once per distinct message; it is retried
whenever pods or nodes change. Such a pod may preempt lower-priority pods (`preemption.py`):
they are deleted and the pod nominated to their node, where it is bound once they are gone.
When nothing can be preempted, the message ends with preemption's own, as upstream's FitError
(`0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No
preemption victims found for incoming pod..`, the double period included).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from nodelab.controlplane.scheduler.cluster import Cluster
from nodelab.controlplane.scheduler.filters import NodeInfo
from nodelab.controlplane.scheduler.plan import schedule
from nodelab.controlplane.scheduler.preemption import (
    Preemption,
    attempt,
    nominated_pods,
    nominations_to_clear,
)
from nodelab.controlplane.scheduler.volume_binding import (
    Volumes,
    VolumeWrite,
    assume,
    volume_bindings,
    waiting_for_binding,
)
from nodelab.kube.events import event_for
from nodelab.kube.restclient import RestError
from nodelab.kube.store import Store
from nodelab.kube.verbs import STRATEGIC_PATCH
from nodelab.kube.writer import Writer
from nodelab.kubewire import times

COMPONENT = "default-scheduler"


def pending(pod: dict[str, Any]) -> bool:
    spec, metadata = pod.get("spec") or {}, pod.get("metadata") or {}
    return (not spec.get("nodeName") and not metadata.get("deletionTimestamp")
            and (spec.get("schedulerName") or COMPONENT) == COMPONENT
            and (pod.get("status") or {}).get("phase", "Pending") == "Pending")


def queue_order(pod: dict[str, Any]) -> tuple[int, str, str]:
    """Upstream's PrioritySort: higher `spec.priority` first, then the older pod."""
    return (-int((pod.get("spec") or {}).get("priority") or 0),
            pod["metadata"].get("creationTimestamp") or "", pod["metadata"]["name"])


def _scheduled_condition(pod: dict[str, Any]) -> dict[str, Any] | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled":
            return dict(condition)
    return None


def cluster_of(store: Store, provisioners: frozenset[str] = frozenset()) -> Cluster:
    """Namespaces' labels, the workloads whose selectors default topology spreading, the
    PodDisruptionBudgets preemption weighs and what volume binding reads."""
    volumes = Volumes(
        {(c["metadata"]["namespace"], c["metadata"]["name"]): c
         for c in store.list("persistentvolumeclaims")},
        {v["metadata"]["name"]: v for v in store.list("persistentvolumes")},
        {c["metadata"]["name"]: c for c in store.list("storageclasses")}, provisioners)
    return Cluster(
        {n["metadata"]["name"]: dict(n["metadata"].get("labels") or {})
         for n in store.list("namespaces")},
        store.list("services"), store.list("replicasets"), store.list("statefulsets"),
        store.list("replicationcontrollers"), store.list("poddisruptionbudgets"), volumes)


class SchedulerController:
    name = "scheduler"
    kinds: tuple[str, ...] = ("pods", "nodes", "namespaces", "services", "replicasets",
                              "statefulsets", "replicationcontrollers", "poddisruptionbudgets",
                              "persistentvolumeclaims", "persistentvolumes", "storageclasses")
    periodic = False

    def __init__(self, provisioners: frozenset[str] = frozenset()) -> None:
        self.provisioners = provisioners  # the volume provisioners the lab runs

    def sync(self, store: Store, writer: Writer) -> None:
        pods = store.list("pods")
        queue = sorted((p for p in pods if pending(p)), key=queue_order)
        if not queue:
            return
        placed: dict[str, list[dict[str, Any]]] = {}
        for pod in pods:
            node_name = (pod.get("spec") or {}).get("nodeName")
            if node_name and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                placed.setdefault(node_name, []).append(pod)
        nodes = store.list("nodes")
        cluster = cluster_of(store, self.provisioners)
        bound_now: set[str] = set()
        for pod in queue:
            waiting = [p for p in queue if p["metadata"].get("uid") not in bound_now]
            infos = [NodeInfo(n, placed.get(n["metadata"]["name"], []) + nominated_pods(
                pod, n["metadata"]["name"], waiting)) for n in nodes]
            decision = schedule(pod, infos, cluster=cluster)
            metadata = pod["metadata"]
            namespace, name = metadata["namespace"], metadata["name"]
            if decision.node is None:
                tried = attempt(pod, infos, dict(decision.rejected), cluster)
                message = decision.message
                if tried.message:  # upstream's FitError: the PostFilter message after it
                    message = f"{message} {tried.message}."
                self._unschedulable(writer, pod, message)
                if tried.preemption is not None:
                    self._preempt(writer, pod, tried.preemption)
                    for other in nominations_to_clear(pod, tried.preemption.node, waiting):
                        writer.patch("pods", other["metadata"]["namespace"],
                                     other["metadata"]["name"],
                                     {"status": {"nominatedNodeName": None}},
                                     subresource="status")
                continue
            if waiting_for_binding(pod, cluster.volumes):  # PreBind: bind its volumes first
                node = next(n for n in nodes if n["metadata"]["name"] == decision.node)
                written = self._prebind(writer, volume_bindings(pod, node, cluster.volumes))
                cluster = dataclasses.replace(cluster, volumes=assume(cluster.volumes, written))
                continue
            writer.rest.create("pods", namespace, {
                "apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": name, "namespace": namespace},
                "target": {"apiVersion": "v1", "kind": "Node", "name": decision.node},
            }, subresource_of=name, subresource="binding")
            bound = copy.deepcopy(pod)
            bound["spec"]["nodeName"] = decision.node
            writer.store.handle("pods", "MODIFIED", bound)
            placed.setdefault(decision.node, []).append(bound)
            bound_now.add(metadata.get("uid"))
            writer.event(event_for(pod, "Pod", "Scheduled",
                                   f"Successfully assigned {namespace}/{name} to {decision.node}",
                                   component=COMPONENT))

    def _prebind(self, writer: Writer, writes: list[VolumeWrite]) -> list[VolumeWrite]:
        """Send PreBind's writes until one is refused; those sent are assumed for the rest
        of the pass. A 409 (the volume changed since the cache read it) or 404 leaves the
        pod pending: the next pass starts from what the watch brings."""
        written: list[VolumeWrite] = []
        for write in writes:
            try:
                writer.patch(write.kind, write.namespace or None, write.name, write.body)
            except RestError as exc:
                if exc.status not in (404, 409):
                    raise
                break
            written.append(write)
        return written

    def _unschedulable(self, writer: Writer, pod: dict[str, Any], message: str) -> None:
        """The FailedScheduling event, then PodScheduled=False, in the order of upstream's
        handleSchedulingFailure: a client that waits for the condition finds the event."""
        current = _scheduled_condition(pod)
        if current and current.get("status") == "False" and current.get("message") == message:
            return
        writer.event(event_for(pod, "Pod", "FailedScheduling", message, component=COMPONENT,
                               event_type="Warning"))
        condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                     "message": message, "lastProbeTime": None,
                     "lastTransitionTime": times.now()}
        others = [c for c in (pod.get("status") or {}).get("conditions") or []
                  if c.get("type") != "PodScheduled"]
        metadata = pod["metadata"]
        writer.patch("pods", metadata["namespace"], metadata["name"],
                     {"status": {"conditions": [*others, condition]}}, subresource="status")

    def _preempt(self, writer: Writer, pod: dict[str, Any], preemption: Preemption) -> None:
        """Delete the victims (DisruptionTarget first, a Preempted event) and nominate the
        node for the pod, as upstream's preemption evaluator does."""
        for victim in preemption.victims:
            meta = victim["metadata"]
            condition = {"type": "DisruptionTarget", "status": "True",
                         "reason": "PreemptionByScheduler",
                         "message": f"{COMPONENT}: preempting to accommodate a higher priority "
                                    "pod", "lastTransitionTime": times.now()}
            writer.patch("pods", meta["namespace"], meta["name"],
                         {"status": {"conditions": [condition]}}, subresource="status",
                         content_type=STRATEGIC_PATCH)
            writer.delete("pods", meta["namespace"], meta["name"])
            writer.event(event_for(victim, "Pod", "Preempted",
                                   f"Preempted by pod {pod['metadata'].get('uid', '')} on node "
                                   f"{preemption.node}", component=COMPONENT))
        metadata = pod["metadata"]
        writer.patch("pods", metadata["namespace"], metadata["name"],
                     {"status": {"nominatedNodeName": preemption.node}}, subresource="status")
