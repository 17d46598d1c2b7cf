"""The PersistentVolume controller (upstream's persistentvolume-controller): every claim, then
every volume, synced as `binder_plan.py` decides; each plan's patches sent in order (a
conflict or a vanished object waits for the next sync), its events said once per object,
reason and message (the loop syncs on every change, where upstream's 15 s resync lets the
event correlator count repeats)."""

from __future__ import annotations

import logging
from typing import Any

from nodelab.controlplane.controllers.volume.binder_plan import (
    Plan,
    World,
    claim_of,
    plan_claim,
    plan_volume,
)
from nodelab.kube.events import event_for
from nodelab.kube.restclient import RestError
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer

log = logging.getLogger("nodelab.controllers.volume")
COMPONENT = "persistentvolume-controller"


class PersistentVolumeBinder:
    name = "persistentvolume-binder"
    kinds: tuple[str, ...] = ("persistentvolumes", "persistentvolumeclaims", "storageclasses",
                              "pods")
    periodic = False

    def __init__(self, provisioners: frozenset[str] = frozenset()) -> None:
        self.provisioners = provisioners
        self._said: set[tuple[str, str, str]] = set()

    def _world(self, store: Store) -> World:
        return World(volumes={v["metadata"]["name"]: v for v in store.list("persistentvolumes")},
                     classes={c["metadata"]["name"]: c for c in store.list("storageclasses")},
                     pods=tuple(store.list("pods")), provisioners=self.provisioners)

    def sync(self, store: Store, writer: Writer) -> None:
        saying: list[Any] = []
        for claim in store.list("persistentvolumeclaims"):
            saying += self._apply(writer, plan_claim(claim, self._world(store)))
        claims = {(c["metadata"]["namespace"], c["metadata"]["name"]): c
                  for c in store.list("persistentvolumeclaims")}
        world = self._world(store)
        for volume in store.list("persistentvolumes"):
            saying += self._apply(writer, plan_volume(volume, claim_of(volume, claims), world))
        self._say(writer, saying)

    def _apply(self, writer: Writer, plan: Plan) -> list[Any]:
        for patch in plan.patches:
            try:
                writer.patch(patch.kind, patch.namespace or None, patch.name, patch.body,
                             patch.subresource or None)
            except RestError as exc:
                if exc.status not in (404, 409):
                    raise
                log.info("%s %s: not written (%s); the next sync retries", patch.kind,
                         patch.name, exc)
                return plan.events
        for name in plan.deletes:
            try:
                writer.delete("persistentvolumes", None, name)
            except RestError as exc:
                if exc.status != 404:
                    raise
        return plan.events

    def _say(self, writer: Writer, events: list[Any]) -> None:
        keys = set()
        for event in events:
            key = (str(event.subject["metadata"].get("uid")), event.reason, event.message)
            keys.add(key)
            if key not in self._said:
                writer.event(event_for(event.subject, event.kind, event.reason, event.message,
                                       component=COMPONENT, event_type=event.type))
        self._said = keys
