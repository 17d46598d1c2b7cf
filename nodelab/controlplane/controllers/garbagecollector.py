"""The garbage collector: objects whose owners are all gone are deleted (background policy).

Owners are looked up by uid among the kinds the loop watches; an owner of a kind it does not
watch (a Job, a DaemonSet from a real cluster) is assumed to exist, so nothing is deleted by
mistake.
"""

from __future__ import annotations

from nodelab.kube.store import Store
from nodelab.kube.writer import Writer

OWNED = ("pods", "replicasets", "endpointslices", "jobs", "controllerrevisions")
OWNER_KINDS = {"ReplicaSet": "replicasets", "Deployment": "deployments", "Service": "services",
               "Node": "nodes", "Job": "jobs", "DaemonSet": "daemonsets",
               "CronJob": "cronjobs", "StatefulSet": "statefulsets",
               "ReplicationController": "replicationcontrollers"}


class GarbageCollector:
    name = "garbage-collector"
    kinds: tuple[str, ...] = (
        "pods", "replicasets", "deployments", "services", "endpointslices", "nodes", "jobs",
        "daemonsets", "controllerrevisions", "cronjobs", "statefulsets", "replicationcontrollers",
    )
    periodic = False

    def sync(self, store: Store, writer: Writer) -> None:
        uids: dict[str, set[str]] = {
            kind: {o["metadata"].get("uid") for o in store.list(kind)}
            for kind in set(OWNER_KINDS.values())
        }
        for kind in OWNED:
            for obj in store.list(kind):
                metadata = obj["metadata"]
                references = metadata.get("ownerReferences") or []
                if not references or metadata.get("deletionTimestamp"):
                    continue
                alive = False
                for ref in references:
                    owner_kind = OWNER_KINDS.get(ref.get("kind") or "")
                    if owner_kind is None or ref.get("uid") in uids[owner_kind]:
                        alive = True
                        break
                if not alive:
                    writer.delete(kind, metadata.get("namespace"), metadata["name"],
                                  {"propagationPolicy": "Background"})
