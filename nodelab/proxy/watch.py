"""The proxy's sync loop: list+watch Services and EndpointSlices, sync the rules on change.

This is the informer pattern, kept small, through `nodelab.kube.restclient.RestClient` (the
official client would add about 50 MiB to the process for three kinds of request):

- one reflector per kind (`nodelab.kube.reflector`) lists it and then watches from the list's
  resourceVersion, relisting when the server says the version is too old (410 Gone) and
  backing off on errors;
- every event goes into one queue; the loop applies events to a `ProxyInformer` (the cache,
  pure and testable with plain dicts) and syncs when something proxied actually changed;
- like upstream's BoundedFrequencyRunner, syncs are at least `min_sync_period` apart (a burst
  of endpoint changes makes one sync) and at most `sync_period` apart (a periodic resync
  repairs rules someone else removed). Nothing is synced before both kinds have been listed
  once, so a restarting proxy never programs a half-known state.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from nodelab.errors import NodelabError
from nodelab.kube.events import event_for
from nodelab.kube.recorder import EventRecorder
from nodelab.kube.reflector import Reflector
from nodelab.kube.restclient import ApiAccess
from nodelab.proxy.model import EndpointSlice, ProxyState, Service
from nodelab.proxy.object_checks import InvalidObject
from nodelab.proxy.objects import endpoint_slice_from_k8s, service_from_k8s, to_api_dict
from nodelab.proxy.proxier import Proxier

log = logging.getLogger("nodelab.proxy")

SERVICES = "services"
SLICES = "endpointslices"


def _meta_key(obj: Any) -> tuple[str, str]:
    if isinstance(obj, dict):
        meta = obj.get("metadata") or {}
        return (meta.get("namespace") or "default", meta.get("name") or "")
    return (obj.metadata.namespace or "default", obj.metadata.name or "")


class ProxyInformer:
    """The proxy's cache of Services and EndpointSlices, fed by list and watch events."""

    def __init__(self, on_invalid: Callable[[Any, InvalidObject], None] | None = None) -> None:
        self.services: dict[tuple[str, str], Service] = {}
        self.slices: dict[tuple[str, str], EndpointSlice] = {}
        self.synced: set[str] = set()
        self.on_invalid = on_invalid or (lambda obj, exc: log.warning("%s", exc))

    def _convert(self, kind: str, obj: Any) -> Service | EndpointSlice | None:
        """The proxy's model of `obj`, or None if it is not proxied or is invalid (reported)."""
        try:
            return service_from_k8s(obj) if kind == SERVICES else endpoint_slice_from_k8s(obj)
        except InvalidObject as exc:
            self.on_invalid(obj, exc)
            return None

    @property
    def ready(self) -> bool:
        return self.synced >= {SERVICES, SLICES}

    def replace(self, kind: str, objects: Iterable[Any]) -> bool:
        """A full list of `kind`: the cache becomes exactly that. True if anything changed."""
        if kind == SERVICES:
            svcs = {s.key: s for s in (self._convert(kind, o) for o in objects)
                    if isinstance(s, Service)}
            changed = svcs != self.services
            self.services = svcs
        else:
            slices = {s.key: s for s in (self._convert(kind, o) for o in objects)
                      if isinstance(s, EndpointSlice)}
            changed = slices != self.slices
            self.slices = slices
        self.synced.add(kind)
        return changed

    def apply(self, kind: str, event_type: str, obj: Any) -> bool:
        """One watch event (ADDED, MODIFIED, DELETED). True if the proxied state changed."""
        key = _meta_key(obj)
        value = None if event_type == "DELETED" else self._convert(kind, obj)
        return _put(self.services if kind == SERVICES else self.slices, key, value)

    def state(self) -> ProxyState:
        return ProxyState(dict(self.services), dict(self.slices))


def _put(cache: dict[tuple[str, str], Any], key: tuple[str, str], value: Any) -> bool:
    if value is None:
        return cache.pop(key, None) is not None
    if cache.get(key) == value:
        return False
    cache[key] = value
    return True


Event = tuple[str, str, Any]


def event_recorder(api: ApiAccess, node_name: str) -> Callable[[Any, InvalidObject], None]:
    """Report each invalid object once per resourceVersion: a log line and a Warning event."""
    seen: set[tuple[str, str, str, str]] = set()
    recorder = EventRecorder(api)

    def record(obj: Any, exc: InvalidObject) -> None:
        data = to_api_dict(obj)
        version = str((data.get("metadata") or {}).get("resourceVersion") or "")
        key = (exc.kind, exc.namespace, exc.name, version)
        if key in seen:
            return
        seen.add(key)
        log.warning("%s", exc)
        api_version = "v1" if exc.kind == "Service" else "discovery.k8s.io/v1"
        event = event_for(data, exc.kind, f"Invalid{exc.kind}", str(exc), component="kube-proxy",
                          event_type="Warning", host=node_name, api_version=api_version)
        recorder.record(event)

    return record


def run_proxy(
    proxier: Proxier,
    api: ApiAccess,
    stop: threading.Event,
    *,
    min_sync_period: float = 1.0,
    sync_period: float = 30.0,
    watch_timeout: int = 300,
) -> None:
    """List+watch through `api` and keep `proxier`'s rules in sync until `stop` is set."""
    events: queue.Queue[Event] = queue.Queue()
    reflectors = [
        Reflector(kind, api.lister(kind),
                  lambda kind, event_type, obj: events.put((event_type, kind, obj)),
                  watch_timeout=watch_timeout).start()
        for kind in (SERVICES, SLICES)
    ]
    informer = ProxyInformer(event_recorder(api, proxier.node.name))
    dirty = True
    last_sync = 0.0
    proxier.start()
    while not stop.is_set():
        wait = max(0.05, min(sync_period - (time.monotonic() - last_sync), 1.0))
        try:
            item: Event | None = events.get(timeout=wait)
        except queue.Empty:
            item = None
        while item is not None:
            event_type, kind, obj = item
            if event_type == "LIST":
                dirty = informer.replace(kind, obj) or dirty
            else:
                dirty = informer.apply(kind, event_type, obj) or dirty
            try:
                item = events.get_nowait()
            except queue.Empty:
                item = None
        since = time.monotonic() - last_sync
        due = (dirty and since >= min_sync_period) or since >= sync_period
        if informer.ready and due:
            last_sync = time.monotonic()
            try:
                record = proxier.sync(informer.state())
                dirty = False
                log.info(
                    "synced %s rules (%s, %d services) in %.3fs",
                    proxier.mode,
                    "full" if record.full else "partial",
                    record.services,
                    record.duration_seconds,
                )
            except NodelabError as exc:
                log.error("sync failed: %s", exc)
    for reflector in reflectors:
        reflector.stop()
