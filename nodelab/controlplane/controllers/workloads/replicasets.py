"""The ReplicaSet controller: creates and deletes pods to match each ReplicaSet's plan.

The ReplicationController controller is the same controller over core/v1
ReplicationControllers (upstream runs one implementation for both, with a different kind)."""

from __future__ import annotations

from nodelab.controlplane.controllers.workloads.replicaset_plan import plan_replicaset
from nodelab.kube.events import event_for
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer


class ReplicaSetController:
    periodic = False

    def __init__(self, resource: str = "replicasets", kind: str = "ReplicaSet",
                 api_version: str = "apps/v1", component: str = "replicaset-controller",
                 name: str = "replicaset") -> None:
        self.resource, self.kind, self.api_version = resource, kind, api_version
        self.component, self.name = component, name
        self.kinds: tuple[str, ...] = (resource, "pods")

    def sync(self, store: Store, writer: Writer) -> None:
        for rs in store.list(self.resource):
            metadata = rs["metadata"]
            if metadata.get("deletionTimestamp"):
                continue
            namespace = metadata["namespace"]
            plan = plan_replicaset(rs, store.list("pods", namespace), kind=self.kind,
                                   api_version=self.api_version)
            for body in plan.create:
                pod = writer.create("pods", namespace, body)
                writer.event(event_for(rs, self.kind, "SuccessfulCreate",
                                       f"Created pod: {pod['metadata']['name']}",
                                       component=self.component, api_version=self.api_version))
            for name in plan.delete:
                writer.delete("pods", namespace, name)
                writer.event(event_for(rs, self.kind, "SuccessfulDelete",
                                       f"Deleted pod: {name}", component=self.component,
                                       api_version=self.api_version))
            current = rs.get("status") or {}
            if any(current.get(k) != v for k, v in plan.status.items()):
                writer.patch(self.resource, namespace, metadata["name"],
                             {"status": plan.status}, subresource="status")


def replication_controller() -> ReplicaSetController:
    return ReplicaSetController("replicationcontrollers", "ReplicationController", "v1",
                                "replication-controller", "replicationcontroller")
