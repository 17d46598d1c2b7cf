"""The proxy's sync loop: list+watch Services and EndpointSlices, sync the rules on change.

This is the informer pattern with the official client, kept small:

- one thread per kind lists it (`list_service_for_all_namespaces`,
  `list_endpoint_slice_for_all_namespaces`) and then watches from the list's resourceVersion,
  relisting when the server says the version is too old (410 Gone) and backing off on errors;
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
from nodelab.proxy.model import EndpointSlice, ProxyState, Service
from nodelab.proxy.objects import endpoint_slice_from_k8s, service_from_k8s
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

    def __init__(self) -> None:
        self.services: dict[tuple[str, str], Service] = {}
        self.slices: dict[tuple[str, str], EndpointSlice] = {}
        self.synced: set[str] = set()

    @property
    def ready(self) -> bool:
        return self.synced >= {SERVICES, SLICES}

    def replace(self, kind: str, objects: Iterable[Any]) -> bool:
        """A full list of `kind`: the cache becomes exactly that. True if anything changed."""
        if kind == SERVICES:
            svcs = {s.key: s for s in map(service_from_k8s, objects) if s is not None}
            changed = svcs != self.services
            self.services = svcs
        else:
            slices = {s.key: s for s in map(endpoint_slice_from_k8s, objects) if s is not None}
            changed = slices != self.slices
            self.slices = slices
        self.synced.add(kind)
        return changed

    def apply(self, kind: str, event_type: str, obj: Any) -> bool:
        """One watch event (ADDED, MODIFIED, DELETED). True if the proxied state changed."""
        key = _meta_key(obj)
        if kind == SERVICES:
            svc = None if event_type == "DELETED" else service_from_k8s(obj)
            return _put(self.services, key, svc)
        eps = None if event_type == "DELETED" else endpoint_slice_from_k8s(obj)
        return _put(self.slices, key, eps)

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


def _watch_kind(
    kind: str,
    list_fn: Callable[..., Any],
    events: queue.Queue[Event],
    stop: threading.Event,
    watch_timeout: int,
) -> None:
    from kubernetes import watch
    from kubernetes.client.exceptions import ApiException

    version: str | None = None
    backoff = 1.0
    while not stop.is_set():
        try:
            if version is None:
                listed = list_fn()
                version = listed.metadata.resource_version
                events.put(("LIST", kind, listed.items))
            stream = watch.Watch()  # type: ignore[no-untyped-call]
            for event in stream.stream(  # type: ignore[no-untyped-call]
                list_fn,
                resource_version=version,
                timeout_seconds=watch_timeout,
                allow_watch_bookmarks=True,
            ):
                if stop.is_set():
                    stream.stop()  # type: ignore[no-untyped-call]
                    break
                obj = event["object"]
                if event["type"] == "ERROR":
                    version = None
                    break
                version = _meta_version(obj) or version
                if event["type"] != "BOOKMARK":
                    events.put((event["type"], kind, obj))
            backoff = 1.0
        except ApiException as exc:
            if exc.status == 410:
                version = None
                continue
            log.warning("watching %s failed: %s; retrying in %.0fs", kind, exc, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, 30.0)
        except Exception as exc:  # connection errors of urllib3: keep watching
            log.warning("watching %s failed: %s; retrying in %.0fs", kind, exc, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, 30.0)


def _meta_version(obj: Any) -> str | None:
    if isinstance(obj, dict):
        version = (obj.get("metadata") or {}).get("resourceVersion")
        return str(version) if version else None
    meta = getattr(obj, "metadata", None)
    return getattr(meta, "resource_version", None) if meta is not None else None


def run_proxy(
    proxier: Proxier,
    api_client: Any,
    stop: threading.Event,
    *,
    min_sync_period: float = 1.0,
    sync_period: float = 30.0,
    watch_timeout: int = 300,
) -> None:
    """List+watch through `api_client` and keep `proxier`'s rules in sync until `stop` is set."""
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    discovery = client.DiscoveryV1Api(api_client)
    events: queue.Queue[Event] = queue.Queue()
    watchers = [
        threading.Thread(
            target=_watch_kind,
            args=(SERVICES, core.list_service_for_all_namespaces, events, stop, watch_timeout),
            name="proxy-watch-services",
            daemon=True,
        ),
        threading.Thread(
            target=_watch_kind,
            args=(
                SLICES,
                discovery.list_endpoint_slice_for_all_namespaces,
                events,
                stop,
                watch_timeout,
            ),
            name="proxy-watch-endpointslices",
            daemon=True,
        ),
    ]
    for thread in watchers:
        thread.start()
    informer = ProxyInformer()
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
