"""The ReplicaSet controller: creates and deletes pods to match each ReplicaSet's plan."""

from __future__ import annotations

from nodelab.controlplane.controllers.replicaset_plan import plan_replicaset
from nodelab.kube.events import event_for
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer

COMPONENT = "replicaset-controller"


class ReplicaSetController:
    name = "replicaset"
    kinds: tuple[str, ...] = ("replicasets", "pods")
    periodic = False

    def sync(self, store: Store, writer: Writer) -> None:
        for rs in store.list("replicasets"):
            metadata = rs["metadata"]
            if metadata.get("deletionTimestamp"):
                continue
            namespace = metadata["namespace"]
            plan = plan_replicaset(rs, store.list("pods", namespace))
            for body in plan.create:
                pod = writer.create("pods", namespace, body)
                writer.event(event_for(rs, "ReplicaSet", "SuccessfulCreate",
                                       f"Created pod: {pod['metadata']['name']}",
                                       component=COMPONENT, api_version="apps/v1"))
            for name in plan.delete:
                writer.delete("pods", namespace, name)
                writer.event(event_for(rs, "ReplicaSet", "SuccessfulDelete",
                                       f"Deleted pod: {name}", component=COMPONENT,
                                       api_version="apps/v1"))
            current = rs.get("status") or {}
            if any(current.get(k) != v for k, v in plan.status.items()):
                writer.patch("replicasets", namespace, metadata["name"],
                             {"status": plan.status}, subresource="status")
