"""The ReplicaSet controller: creates and deletes pods to match each ReplicaSet's plan.

The ReplicationController controller is the same controller over core/v1
ReplicationControllers (upstream runs one implementation for both, with a different kind)."""

from __future__ import annotations

from nodelab.controlplane.controllers.workloads.replicaset_plan import (
    plan_replicaset,
    replica_failure_conditions,
)
from nodelab.kube.events import event_for
from nodelab.kube.objects import Object
from nodelab.kube.restclient import RestError
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer
from nodelab.kubewire import times


class ReplicaSetController:
    def __init__(self, resource: str = "replicasets", kind: str = "ReplicaSet",
                 api_version: str = "apps/v1", component: str = "replicaset-controller",
                 name: str = "replicaset") -> None:
        self.resource, self.kind, self.api_version = resource, kind, api_version
        self.component, self.name = component, name
        self.kinds: tuple[str, ...] = (resource, "pods")
        self._failing: set[str] = set()

    @property
    def periodic(self) -> bool:
        """While a create was refused, sync every tick as well (upstream requeues the set
        with backoff): a quota raised or freed lets the missing pods in without waiting for
        a change of a pod or a set."""
        return bool(self._failing)

    def sync(self, store: Store, writer: Writer) -> None:
        failing = set()
        for rs in store.list(self.resource):
            metadata = rs["metadata"]
            if metadata.get("deletionTimestamp"):
                continue
            namespace = metadata["namespace"]
            plan = plan_replicaset(rs, store.list("pods", namespace), kind=self.kind,
                                   api_version=self.api_version)
            failure = self._create(rs, writer, namespace, plan.create)
            if failure is not None:
                failing.add(str(metadata.get("uid") or metadata["name"]))
            for name in plan.delete:
                writer.delete("pods", namespace, name)
                writer.event(event_for(rs, self.kind, "SuccessfulDelete",
                                       f"Deleted pod: {name}", component=self.component,
                                       api_version=self.api_version))
            current = rs.get("status") or {}
            status = dict(plan.status)
            conditions = replica_failure_conditions(current.get("conditions") or [], failure,
                                                    "FailedCreate", times.now())
            if conditions != (current.get("conditions") or []):
                status["conditions"] = conditions or None
            if any(current.get(k) != v for k, v in status.items()):
                writer.patch(self.resource, namespace, metadata["name"],
                             {"status": status}, subresource="status")
        self._failing = failing

    def _create(self, rs: Object, writer: Writer, namespace: str, bodies: list[Object]
                ) -> str | None:
        """Create the planned pods in order, each recorded as an event; the first refusal
        (a quota, a LimitRange) stops the batch and is returned, as upstream's slow start."""
        for body in bodies:
            try:
                pod = writer.create("pods", namespace, body)
            except RestError as exc:
                writer.event(event_for(rs, self.kind, "FailedCreate",
                                       f"Error creating: {exc.message}",
                                       component=self.component, event_type="Warning",
                                       api_version=self.api_version))
                return exc.message
            writer.event(event_for(rs, self.kind, "SuccessfulCreate",
                                   f"Created pod: {pod['metadata']['name']}",
                                   component=self.component, api_version=self.api_version))
        return None


def replication_controller() -> ReplicaSetController:
    return ReplicaSetController("replicationcontrollers", "ReplicationController", "v1",
                                "replication-controller", "replicationcontroller")
