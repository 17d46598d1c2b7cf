"""The kubelet's configMap and secret managers: a watch per object the node's pods use
(upstream's Watch change-detection strategy, pkg/kubelet/util/manager/watch_based_manager.go).

Volumes, environment variables and image pull secrets read configMaps and secrets on every
sync of their pod. A GET each time costs a request per pod per resync (110 pods: 11 a second
with a 10 s resync, each on its own TLS connection); upstream instead keeps, per object a pod
refers to, a reflector on `namespaces/<ns>/<kind>?fieldSelector=metadata.name=<name>` (the
Node authorizer allows exactly that one object), and reads the watched copy:

- `register_pod(pod)` when the kubelet sees a pod (added or changed): each configMap and
  secret it refers to (`watched_objects`, from `kube/pod/references.py`, the authorizer's own
  walk) gets a reference from the pod; the first reference starts that object's watch, and
  names the pod no longer refers to lose theirs;
- `unregister_pod(uid)` when the pod's worker is done; an object without references stops
  being watched;
- `get(kind, namespace, name)` returns the watched copy (None: it does not exist), once the
  watch has listed; a copy that is `immutable: true` stops its watch and is kept as it is
  (upstream's `isImmutable`: such an object can only be deleted, which the pods using it do
  not follow either); waiting longer than `SYNC_TIMEOUT` is upstream's error ("failed to sync
  configmap cache: timed out waiting for the condition"); a name no pod registered is an error
  too, as upstream's "object ... not registered".

Unlike upstream, a change of a watched object (created, updated, deleted) calls `changed`
with the UIDs of the pods that refer to it, so the kubelet syncs them at once: their volumes
follow the object within a second instead of at the next periodic resync.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nodelab.errors import NodelabError
from nodelab.kube.pod.references import pod_references
from nodelab.kube.reflector import ListFunction, Reflector

log = logging.getLogger("nodelab.kubelet.pods")

SYNC_TIMEOUT = 10.0  # upstream polls 1 s; a loaded 2-core lab may take longer to list
ObjectKey = tuple[str, str, str]  # (kind: "configmaps" | "secrets", namespace, name)
Lister = Callable[[str, str], ListFunction]  # (kind, namespace) -> list/watch function
KINDS = {"configmap": "configmaps", "secret": "secrets"}
SINGULAR = {plural: singular for singular, plural in KINDS.items()}


class ObjectWatchError(NodelabError):
    """A configMap or secret could not be read from its watch."""


def watched_objects(pod: Mapping[str, Any]) -> frozenset[ObjectKey]:
    """The configMaps and secrets `pod` refers to, as the keys their watches are kept by."""
    namespace = str((pod.get("metadata") or {}).get("namespace") or "")
    refs = pod_references(pod)
    return frozenset((plural, namespace, name) for singular, plural in KINDS.items()
                     for name in refs[singular] if name)


def _version(found: Mapping[str, Any] | None) -> str | None:
    return None if found is None else str((found.get("metadata") or {}).get("resourceVersion"))


@dataclass
class _Watched:
    """One object's watch: its reflector, its latest copy and the pods referring to it."""

    reflector: Reflector
    pods: set[str] = field(default_factory=set)
    found: dict[str, Any] | None = None
    immutable: bool = False  # read once immutable: its watch stopped, the copy kept


class ObjectWatches:
    def __init__(self, lister: Lister,
                 changed: Callable[[set[str]], None] = lambda _uids: None,
                 sync_timeout: float = SYNC_TIMEOUT) -> None:
        self._lister = lister
        self._changed = changed
        self._sync_timeout = sync_timeout
        self._lock = threading.Lock()
        self._watched: dict[ObjectKey, _Watched] = {}
        self._pods: dict[str, frozenset[ObjectKey]] = {}  # pod UID -> what it refers to

    def register_pod(self, pod: Mapping[str, Any]) -> None:
        uid = str((pod.get("metadata") or {}).get("uid") or "")
        if uid:
            self._refer(uid, watched_objects(pod))

    def unregister_pod(self, uid: str) -> None:
        self._refer(uid, frozenset())

    def _refer(self, uid: str, keys: frozenset[ObjectKey]) -> None:
        stopped = []
        with self._lock:
            before = self._pods.pop(uid, frozenset())
            if keys:
                self._pods[uid] = keys
            for key in keys - before:
                watched = self._watched.get(key)
                if watched is None:
                    watched = self._watched[key] = self._watch(key)
                watched.pods.add(uid)
            for key in before - keys:
                watched = self._watched[key]
                watched.pods.discard(uid)
                if not watched.pods:
                    stopped.append(self._watched.pop(key).reflector)
        for reflector in stopped:
            reflector.stop()

    def _watch(self, key: ObjectKey) -> _Watched:
        kind, namespace, name = key
        watched: _Watched

        def handle(_kind: str, event: str, payload: Any) -> None:
            if event == "LIST":
                found = payload[0] if payload else None
            else:
                found = None if event == "DELETED" else payload
            with self._lock:
                before, watched.found = watched.found, found
                pods = set(watched.pods)
            if pods and watched.reflector.synced.is_set() \
                    and _version(before) != _version(found):  # not the first list
                self._changed(pods)

        reflector = Reflector(kind, self._lister(kind, namespace), handle,
                              field_selector=f"metadata.name={name}")
        watched = _Watched(reflector)
        log.debug("watching %s %s/%s", SINGULAR[kind], namespace, name)
        reflector.start()
        return watched

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The watched object (None: it does not exist); ObjectWatchError if no pod registered
        it or its watch has not listed within the sync timeout."""
        with self._lock:
            watched = self._watched.get((kind, namespace, name))
        if watched is None:
            raise ObjectWatchError(f'object "{namespace}"/"{name}" not registered')
        if not watched.reflector.synced.wait(self._sync_timeout):
            raise ObjectWatchError(f"failed to sync {SINGULAR.get(kind, kind)} cache: timed "
                                   "out waiting for the condition")
        with self._lock:
            found = watched.found
            stop = bool(found and found.get("immutable") is True and not watched.immutable)
            watched.immutable = watched.immutable or stop
        if stop:  # upstream's isImmutable: an immutable object cannot change any more
            log.debug("stopped watching %s %s/%s: it is immutable", SINGULAR[kind], namespace,
                      name)
            watched.reflector.stop()
        return found

    def watching(self) -> set[ObjectKey]:
        """The objects watched now."""
        with self._lock:
            return set(self._watched)

    def stop(self) -> None:
        with self._lock:
            reflectors = [w.reflector for w in self._watched.values()]
            self._watched.clear()
            self._pods.clear()
        for reflector in reflectors:
            reflector.stop()
