"""Watch: a stream of `{"type": ..., "object": ...}` events, as kube-apiserver sends them
(JSON lines, or protobuf frames for a client that prefers protobuf: `protobuf.py`).

Where a watch starts:
- no resourceVersion, "0", or `sendInitialEvents=true`: a synthetic ADDED for every matching
  object first (with `sendInitialEvents` and bookmarks, then a BOOKMARK annotated
  `k8s.io/initial-events-end`, which is how client-go's WatchList knows the list is complete);
- a resourceVersion N: every change after N, from the store's history; if N has been
  compacted away the stream carries one ERROR event with a 410 `Expired` Status, and the
  client re-lists.

Selectors are applied to each change the way upstream's watch cache does
(cacheWatcher.convertToWatchEvent): to the object after the change and to the object before
it (the store keeps both); one that stops matching is sent as DELETED (its previous content at
the event's resourceVersion), one that starts matching as ADDED. Whether an object matched is
never read from the objects as they are now: a watch resumed from an old resourceVersion
replays changes made before the current state (a pod created unbound, then bound to a node).

With `allowWatchBookmarks`, a BOOKMARK carrying the current resourceVersion is sent when the
stream has been idle for `BOOKMARK_INTERVAL` seconds, so a client resuming after a quiet period
is not sent back to 410. The stream ends at `timeoutSeconds` (client-go picks 5-10 minutes)
or on shutdown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from nodelab.controlplane import errors
from nodelab.controlplane.apiextensions import custom_objects
from nodelab.controlplane.http.protobuf import json_line
from nodelab.controlplane.registry import rest
from nodelab.controlplane.resources import ResourceType
from nodelab.controlplane.storage.selectors import matcher, parse_fields, parse_labels
from nodelab.controlplane.storage.store import Event, Gone, Store
from nodelab.kube.objects import Object

Frame = Callable[[str, Object], bytes]
BOOKMARK_INTERVAL = 5.0
MAX_TIMEOUT = 1800.0


def _bookmark(rt: ResourceType, revision: int, initial_end: bool = False) -> Object:
    meta: Object = {"resourceVersion": str(revision)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"kind": rt.kind, "apiVersion": rt.group_version, "metadata": meta}


def stream(store: Store, rt: ResourceType, namespace: str | None, query: dict[str, str],
           encode: Callable[[Object], Object], stopping: Callable[[], bool],
           frame: Frame = json_line) -> Iterator[bytes]:
    """Yield watch events until the timeout, shutdown, or the client goes away, each written
    by `frame` (a JSON line, or a protobuf frame: `protobuf.watch_framing`)."""
    matches = matcher(parse_labels(query.get("labelSelector", "")),
                      parse_fields(query.get("fieldSelector", ""), rt.storage_key,
                                   custom_objects.selectable_fields(rt)))
    timeout = min(float(query.get("timeoutSeconds") or MAX_TIMEOUT), MAX_TIMEOUT)
    deadline = time.monotonic() + timeout
    bookmarks = query.get("allowWatchBookmarks") == "true"
    requested = query.get("resourceVersion", "")
    initial = query.get("sendInitialEvents") == "true" or requested in ("", "0")
    items, revision = store.select(rt.storage_key, namespace)
    if initial:
        for obj in items:
            if matches(obj):
                yield frame("ADDED", encode(rest.to_wire(rt, obj)))
        if query.get("sendInitialEvents") == "true" and bookmarks:
            yield frame("BOOKMARK", _bookmark(rt, revision, initial_end=True))
    else:
        try:
            revision = int(requested)
        except ValueError:
            error = errors.bad_request(f"invalid resource version {requested!r}")
            yield frame("ERROR", error.status())
            return
        try:
            store.events_after(revision, rt.storage_key)
        except Gone as exc:
            yield frame("ERROR", errors.gone(str(exc)).status())
            return
    last_sent = time.monotonic()
    while not stopping():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        store.wait(rt.storage_key, revision, min(remaining, 1.0))
        if store.closed:
            return
        try:
            events, up_to = store.events_after(revision, rt.storage_key)
            lines = [_translate(rt, event, namespace, matches, encode, frame)
                     for event in events]
        except Gone as exc:
            yield frame("ERROR", errors.gone(str(exc)).status())
            return
        for line in lines:
            if line is not None:
                last_sent = time.monotonic()
                yield line
        revision = up_to
        if bookmarks and time.monotonic() - last_sent >= BOOKMARK_INTERVAL:
            last_sent = time.monotonic()
            yield frame("BOOKMARK", _bookmark(rt, revision))


def _translate(rt: ResourceType, event: Event, namespace: str | None,
               matches: Callable[[Object], bool],
               encode: Callable[[Object], Object], frame: Frame) -> bytes | None:
    """The watch line for one change, or None when neither the object before it nor the
    object after it matches (upstream's convertToWatchEvent); Gone when the object before it
    is not known."""
    if namespace is not None and event.namespace != namespace:
        return None
    before = event.previous()
    if event.type == "MODIFIED" and before is None:
        # its previous write is not in the history (compacted away before a restart): whether
        # it matched before cannot be told, so the client lists again, as upstream's watch
        # cache answers a resourceVersion older than its own start
        raise Gone(f"too old resource version: {event.rv - 1} (the object before "
                   f"{event.rv} is no longer known)")
    passes_now = event.type != "DELETED" and matches(event.object())
    passed = before is not None and matches(before)
    if passes_now:
        return frame("MODIFIED" if passed else "ADDED", encode(rest.to_wire(rt, event.object())))
    if passed and before is not None:
        # what stopped matching (or was deleted) is sent as it was, at the event's revision
        before.setdefault("metadata", {})["resourceVersion"] = str(event.rv)
        return frame("DELETED", encode(rest.to_wire(rt, before)))
    return None
