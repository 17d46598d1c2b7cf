"""The resource quota controller: every ResourceQuota's `status.hard` and `status.used` kept
equal to `nodelab.kube.quota.usage.desired_status` over the namespace's objects.

It counts the resources it watches (`COUNTED`: pods, services, configmaps, secrets, replication
controllers, quotas and the apps/batch workloads, plus persistent volume claims where they are
served); a quota that limits `count/<resource>` of another resource keeps no usage for it, so
admission refuses those objects with upstream's `status unknown for quota` rather than letting
them pass uncounted. It runs on every change of those kinds and every second (a deleted pod
stops counting when its grace period has passed). A status write names the resourceVersion it
read, so usage the API server charged meanwhile is never overwritten with an older count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from nodelab.kube import resources as kube_resources
from nodelab.kube.objects import ObjectView
from nodelab.kube.quota.usage import desired_status, status_differs
from nodelab.kube.restclient import RestError
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer

_WANTED = ("pods", "services", "configmaps", "secrets", "replicationcontrollers",
           "resourcequotas", "persistentvolumeclaims", "deployments", "replicasets",
           "statefulsets", "daemonsets", "jobs", "cronjobs")
COUNTED: tuple[str, ...] = tuple(k for k in _WANTED if k in kube_resources.RESOURCES)


def group_of(kind: str) -> str:
    prefix = kube_resources.RESOURCES[kind].prefix
    return "" if prefix == "/api/v1" else prefix.split("/")[2]


class ResourceQuotaController:
    name = "resourcequota"
    kinds: tuple[str, ...] = COUNTED
    periodic = True

    def sync(self, store: Store, writer: Writer) -> None:
        quotas = store.list("resourcequotas")
        if not quotas:
            return
        by_namespace: dict[str, dict[tuple[str, str], list[ObjectView]]] = defaultdict(
            lambda: defaultdict(list))
        for kind in COUNTED:
            key = (kind, group_of(kind))
            for obj in store.list(kind):
                by_namespace[str(obj["metadata"].get("namespace") or "")][key].append(obj)
        for quota in quotas:
            namespace = str(quota["metadata"].get("namespace") or "")
            objects: dict[tuple[str, str], Sequence[ObjectView]] = {
                (kind, group_of(kind)): [] for kind in COUNTED}
            objects.update(by_namespace.get(namespace, {}))
            wanted = desired_status(quota, objects)
            if not status_differs(quota, wanted):
                continue
            try:  # names the resourceVersion read: a quota admission charged meanwhile wins
                writer.replace("resourcequotas", namespace, quota["metadata"]["name"],
                               {**quota, "status": wanted}, "status")
            except RestError as exc:
                if exc.status not in (404, 409):
                    raise
                # 409: recounted at the next pass, from the newer quota; 404: it is gone
