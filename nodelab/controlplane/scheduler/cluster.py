"""What the scheduler reads besides nodes and the pods on them, as one value per cycle.

Inter-pod affinity needs the labels of namespaces (a term's `namespaceSelector`); the system
default topology spreading needs the selectors of the Services, ReplicaSets, StatefulSets and
ReplicationControllers that match a pod (upstream's `helper.DefaultSelector`); preemption
prefers victims whose PodDisruptionBudgets allow their loss; volume binding reads claims,
volumes and classes. Keeping them in one frozen value
lets every plugin stay a pure function of (pod, nodes, cluster).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nodelab.controlplane.scheduler.volume_binding import Volumes
from nodelab.kube.objects import ObjectView


@dataclass(frozen=True)
class Cluster:
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    services: Sequence[ObjectView] = ()
    replica_sets: Sequence[ObjectView] = ()
    stateful_sets: Sequence[ObjectView] = ()
    replication_controllers: Sequence[ObjectView] = ()
    disruption_budgets: Sequence[ObjectView] = ()
    volumes: Volumes = field(default_factory=Volumes)  # claims, volumes, classes

    def labels_of(self, namespace: str) -> Mapping[str, str] | None:
        """A namespace's labels (None: no such namespace, so no namespaceSelector matches)."""
        return self.namespace_labels.get(namespace)
