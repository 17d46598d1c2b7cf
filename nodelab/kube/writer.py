"""Writes that also update the local cache at once (client-go's "mutation cache").

A controller that creates an object and syncs again before the watch delivers it would
create it twice. `Writer` sends each write through the client's verbs and records the answer in the
`Store` straight away; the watch event that follows carries the same object.
"""

from __future__ import annotations

from typing import Any

from nodelab.kube.recorder import EventRecorder
from nodelab.kube.restclient import ApiAccess
from nodelab.kube.store import Store
from nodelab.kube.verbs import MERGE_PATCH


class Writer:
    def __init__(self, rest: ApiAccess, store: Store) -> None:
        self.rest = rest
        self.store = store
        self.recorder = EventRecorder(rest)

    def create(self, kind: str, namespace: str | None, body: dict[str, Any]) -> dict[str, Any]:
        created = self.rest.create(kind, namespace, body)
        self.store.handle(kind, "ADDED", created)
        return created

    def patch(self, kind: str, namespace: str | None, name: str, body: Any,
              subresource: str | None = None, content_type: str = MERGE_PATCH
              ) -> dict[str, Any]:
        patched = self.rest.patch(kind, namespace, name, body, subresource, content_type)
        self.store.handle(kind, "MODIFIED", patched)
        return patched

    def replace(self, kind: str, namespace: str | None, name: str, body: dict[str, Any],
                subresource: str | None = None) -> dict[str, Any]:
        replaced = self.rest.replace(kind, namespace, name, body, subresource)
        self.store.handle(kind, "MODIFIED", replaced)
        return replaced

    def delete(self, kind: str, namespace: str | None, name: str,
               body: dict[str, Any] | None = None) -> None:
        result = self.rest.delete(kind, namespace, name, body)
        gone = {"metadata": {"namespace": namespace or "", "name": name}}
        if result is None or not (result.get("metadata") or {}).get("deletionTimestamp"):
            self.store.handle(kind, "DELETED", gone)
        else:
            self.store.handle(kind, "MODIFIED", result)

    def event(self, event: dict[str, Any]) -> None:
        """Record an Event through the component's recorder (counted, combined, rate limited
        as client-go's); losing one is not worth failing a sync for."""
        self.recorder.record(event)
