"""A thread-safe local copy of API objects (dicts), keyed by namespace and name, per kind.

Updates never move an object back in time: an update carrying an older resourceVersion than
the stored copy (a controller's own write racing the watch) is ignored. resourceVersions are
compared as numbers, which holds for nodelab's API server and etcd-backed ones.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from nodelab.kube.objects import Object


def object_key(obj: Object) -> tuple[str, str]:
    metadata = obj.get("metadata") or {}
    return (metadata.get("namespace") or "", metadata.get("name") or "")


def _version(obj: Object | None) -> int:
    """The object's resourceVersion as a number (-1 when absent or opaque)."""
    text = ((obj or {}).get("metadata") or {}).get("resourceVersion") or ""
    return int(text) if str(text).isdigit() else -1


class Store:
    """Objects by kind, updated by reflector events; `changed` is called after each update."""

    def __init__(self, changed: Callable[[str], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._objects: dict[str, dict[tuple[str, str], Object]] = {}
        self._changed = changed
        self._delivered: dict[str, int] = {}

    def mark_delivered(self, kind: str, resource_version: str) -> None:
        """The kind's reflector has handled every event up to `resource_version` (its list's,
        a watch event's or a bookmark's); a writer's own copies never move this mark."""
        number = _version({"metadata": {"resourceVersion": resource_version}})
        with self._lock:
            self._delivered[kind] = max(self._delivered.get(kind, -1), number)

    def delivered(self, kind: str) -> int:
        """The resourceVersion the kind's reflector has delivered through (-1: not known)."""
        with self._lock:
            return self._delivered.get(kind, -1)

    def handle(self, kind: str, event: str, payload: Any) -> None:
        with self._lock:
            bucket = self._objects.setdefault(kind, {})
            if event == "LIST":
                bucket.clear()
                for obj in payload:
                    bucket[object_key(obj)] = obj
            elif event == "DELETED":
                bucket.pop(object_key(payload), None)
            else:
                key = object_key(payload)
                if _version(payload) < _version(bucket.get(key)):
                    return  # a writer's copy older than what the watch already delivered
                bucket[key] = payload
        if self._changed is not None:
            self._changed(kind)

    def list(self, kind: str, namespace: str | None = None) -> list[Object]:
        with self._lock:
            items = list(self._objects.get(kind, {}).values())
        if namespace is None:
            return items
        return [o for o in items if (o.get("metadata") or {}).get("namespace") == namespace]

    def get(self, kind: str, namespace: str, name: str) -> Object | None:
        with self._lock:
            return self._objects.get(kind, {}).get((namespace, name))

    def kinds(self) -> Iterable[str]:
        with self._lock:
            return list(self._objects)
