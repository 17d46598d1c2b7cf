"""The resource quota controller: every ResourceQuota's `status.hard` and `status.used` kept
equal to `nodelab.kube.quota.usage.desired_status` over the namespace's objects.

It counts the resources it watches (`COUNTED`: pods, services, configmaps, secrets, replication
controllers, quotas and the apps/batch workloads, plus persistent volume claims where they are
served) from its cache, and the `count/<resource>.<group>` of any other built-in namespaced kind
a quota names from the same cache when the loop's own reflectors feed that kind (another
controller reads it: endpoints, leases, ...), else from a reflector it starts when a quota
first names that kind (upstream's quota monitor shares one informer per resource with the
other controllers; two reflectors of one kind in one cache would let one's list replace what
the other delivered since; until its reflector has listed, each pass lists the kind in the
quota's namespace); a `count/` of a kind it does not know (a custom
resource) keeps no usage, so admission refuses those objects with upstream's `status unknown
for quota` rather than letting them pass uncounted.

As upstream's controller it recounts a quota only when it is new or its `spec.hard` changed,
when something in its namespace stopped using quota (deleted, a pod terminal or past its
grace: upstream's replenishment) and every 5 minutes (`--resource-quota-sync-period`): usage
the API server charged at admission is not recounted at once, since the object admitted may not
be in the cache yet. A recount that would lower `status.used` waits until each counted kind's
reflector has delivered through the quota's resourceVersion (a cache behind the charged quota
can miss the object charged for), and a status write names the resourceVersion it read, so a
charge made meanwhile is never overwritten with an older count.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Collection, Sequence

from nodelab.kube import resources as kube_resources
from nodelab.kube.objects import ObjectView
from nodelab.kube.quota.usage import (
    FULL_RESYNC_SECONDS,
    LiveKey,
    desired_status,
    live_keys,
    may_write_recount,
    needs_recount,
    status_differs,
)
from nodelab.kube.reflector import Reflector
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


def listed_kind(count_name: str) -> str | None:
    """The namespaced kind (kube.resources) a `count/<resource>[.<group>]` name counts, when
    the controller does not watch it."""
    resource, _, group = count_name.removeprefix("count/").partition(".")
    for kind, where in kube_resources.RESOURCES.items():
        if where.plural == resource and where.namespaced and kind not in COUNTED and (
                group_of(kind) == group):
            return kind
    return None


class ResourceQuotaController:
    name = "resourcequota"
    kinds: tuple[str, ...] = COUNTED
    periodic = True

    def __init__(self) -> None:
        self._live: set[LiveKey] = set()
        self._last_full = float("-inf")
        self._deferred: set[str] = set()  # namespaces whose lower recount waits for caches
        self._watched: dict[str, Reflector] = {}  # count/ kinds beyond COUNTED a quota named
        self._shared: frozenset[str] = frozenset()  # kinds the loop's reflectors feed
        self._lock = threading.Lock()
        self._stopped = False

    def share_reflectors(self, kinds: Collection[str]) -> None:
        """The kinds the loop's own reflectors feed into the cache this controller reads: a
        `count/` of one of them is read from that cache, with no reflector of its own."""
        self._shared = frozenset(kinds)

    def stop(self) -> None:
        """End the reflectors of the `count/` kinds (the loop's own end with the loop); a
        pass still running starts no more of them."""
        with self._lock:
            self._stopped = True
            reflectors = list(self._watched.values())
        for reflector in reflectors:
            reflector.stop()

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
        cached: set[str] = set()  # the count/ kinds read from the cache in this pass
        for quota in quotas:
            namespace = str(quota["metadata"].get("namespace") or "")
            for key, items in self._listed(quota, namespace, store, writer, cached).items():
                by_namespace[namespace][key] = list(items)
        if self._stopped:  # the loop is ending: a count/ kind may be missing, write nothing
            return
        live = set().union(*(live_keys(ns, objects) for ns, objects in by_namespace.items()))
        replenished = {key[0] for key in self._live - live} | self._deferred
        self._live = live
        self._deferred = set()
        delivered = {kind: store.delivered(kind) for kind in (*COUNTED, *sorted(cached))}
        now = time.monotonic()
        full = now - self._last_full >= FULL_RESYNC_SECONDS
        if full:
            self._last_full = now
        for quota in quotas:
            if not needs_recount(quota, replenished, full):
                continue
            namespace = str(quota["metadata"].get("namespace") or "")
            objects: dict[tuple[str, str], Sequence[ObjectView]] = {
                (kind, group_of(kind)): [] for kind in COUNTED}
            objects.update(by_namespace.get(namespace, {}))
            wanted = desired_status(quota, objects)
            if not status_differs(quota, wanted):
                continue
            if not may_write_recount(quota, wanted, delivered):
                self._deferred.add(namespace)  # recounted at a next pass, once caught up
                continue
            try:  # names the resourceVersion read: a quota admission charged meanwhile wins
                writer.replace("resourcequotas", namespace, quota["metadata"]["name"],
                               {**quota, "status": wanted}, "status")
            except RestError as exc:
                if exc.status not in (404, 409):
                    raise
                # 409: recounted at the next pass, from the newer quota; 404: it is gone

    def _listed(self, quota: ObjectView, namespace: str, store: Store, writer: Writer,
                cached: set[str]) -> dict[tuple[str, str], Sequence[ObjectView]]:
        """The objects of the kinds the quota counts (`count/...`) beyond COUNTED: from the
        cache, fed by the loop's reflector of the kind or by one this controller starts the
        first time a quota names the kind, and listed from the API server until that
        reflector has listed (the kinds read from the cache are added to `cached`)."""
        found: dict[tuple[str, str], Sequence[ObjectView]] = {}
        if self._stopped:
            return found
        for name in (quota.get("spec") or {}).get("hard") or {}:
            kind = listed_kind(name) if name.startswith("count/") else None
            if kind is None:
                continue
            if kind in self._shared or self._watching(kind, store, writer):
                found[(kind, group_of(kind))] = store.list(kind, namespace)
                cached.add(kind)
                continue
            where = kube_resources.RESOURCES[kind]
            answer = writer.rest.request("GET", f"{where.prefix}/namespaces/{namespace}/"
                                                f"{where.plural}")
            found[(kind, group_of(kind))] = list(answer.get("items") or [])
        return found

    def _watching(self, kind: str, store: Store, writer: Writer) -> bool:
        """Whether this controller's reflector of `kind` has listed it into the cache,
        starting that reflector the first time (none once the controller stopped)."""
        with self._lock:
            reflector = self._watched.get(kind)
            if reflector is None:
                if self._stopped:
                    return False
                reflector = Reflector(kind, writer.rest.lister(kind), store.handle,
                                      progress=store.mark_delivered).start()
                self._watched[kind] = reflector
        return reflector.synced.is_set()
