"""A reflector: list a resource, then watch it from the list's resourceVersion, forever.

Objects are handled as plain dicts (the JSON the API server sent), which keeps plans pure and
comparable. Each reflector runs in its own daemon thread and reports to a handler:
`handler(kind, "LIST", [objects])` after every (re)list, then `handler(kind, "ADDED" |
"MODIFIED" | "DELETED", object)` per event. A watch that ends, or breaks (the API server
restarting), is resumed from the last resourceVersion handled (bookmarks included), as
client-go's lastSyncResourceVersion: never from an older one, whose replayed changes the
handler has seen already; 410 Gone or an ERROR event makes it list again; other failures back
off exponentially (1 s to 30 s). `stop()` ends it.

The list function is the official client's `list_*_for_all_namespaces` or
`nodelab.kube.restclient.RestClient.lister(kind)`, which has the same calling convention; this
module imports neither (an error's HTTP status is read from its `status`, as both raise).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger("nodelab.kube")

Handler = Callable[[str, str, Any], None]
ListFunction = Callable[..., Any]


class WatchRefused(Exception):
    """A watch request answered with an error status."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


def _lines(response: Any) -> Iterator[str]:
    """The lines of a streamed response, as they arrive (one watch event per line)."""
    pending = b""
    for segment in response.stream(amt=None, decode_content=False):
        pending += segment
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.rstrip(b"\r").decode()
    if pending:
        yield pending.rstrip(b"\r").decode()


class Reflector:
    def __init__(self, kind: str, list_fn: ListFunction, handler: Handler,
                 *, watch_timeout: int = 290,
                 progress: Callable[[str, str], None] | None = None,
                 **list_kwargs: Any) -> None:
        self.kind = kind
        self._progress = progress  # told each resourceVersion handled (lists, bookmarks too)
        self._list_fn = list_fn
        self._handler = handler
        self._watch_timeout = watch_timeout
        self._list_kwargs = list_kwargs
        self._stop = threading.Event()
        self._response: Any = None  # the open watch, closed by stop()
        self._version: str | None = None  # where the next watch starts; None: list first
        self._thread = threading.Thread(target=self._run, name=f"reflector-{kind}", daemon=True)
        self.synced = threading.Event()

    def start(self) -> Reflector:
        self._thread.start()
        return self

    def running(self) -> bool:
        """Whether its thread runs: started, and not yet ended after `stop`."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop; an open watch is closed, so the thread ends now rather than at its timeout."""
        self._stop.set()
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):  # whatever state the stream is in
                response.close()

    def _list(self) -> str:
        response = self._list_fn(_preload_content=False, **self._list_kwargs)
        try:
            data = json.loads(response.data)
        finally:
            response.release_conn()
        self._handler(self.kind, "LIST", data.get("items") or [])
        self.synced.set()
        version = str((data.get("metadata") or {}).get("resourceVersion") or "")
        if self._progress is not None:
            self._progress(self.kind, version)
        return version

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                if self._version is None:
                    self._version = self._list()
                log.debug("watching %s from resourceVersion %s", self.kind, self._version)
                self._watch(self._version)
                if self._version is None:
                    continue  # 410 Gone or another ERROR event: list again
                log.debug("watch of %s ended at resourceVersion %s", self.kind, self._version)
                backoff = 1.0
            except Exception as exc:  # connection errors too: the server may restart
                status = getattr(exc, "status", None)
                if status == 410:
                    self._version = None
                    continue
                why = f"{status} {getattr(exc, 'reason', '')}" if status else str(exc)
                self._back_off(why, backoff)
                backoff = min(backoff * 2, 30.0)

    def _watch(self, version: str) -> None:
        """One watch from `version`: handle its events, keeping the resourceVersion to resume
        from as each is handled (also when the stream then breaks), or None when the server
        sent an ERROR event (410 Gone: the history the watch would resume from is compacted
        away), so the caller lists again.

        The lines are read here rather than through `kubernetes.watch.Watch`, whose
        `deserialize=False` mode fails on an ERROR event (KeyError 'raw_object'), which would
        leave a reflector retrying a compacted resourceVersion forever."""
        response = self._list_fn(watch=True, resource_version=version,
                                 timeout_seconds=self._watch_timeout, allow_watch_bookmarks=True,
                                 _preload_content=False, **self._list_kwargs)
        self._response = response
        try:
            if self._stop.is_set():
                return
            status = int(getattr(response, "status", 200) or 200)
            if not 200 <= status < 300:
                raise WatchRefused(status, str(getattr(response, "reason", "")))
            for line in _lines(response):
                if self._stop.is_set():
                    return
                if not line:
                    continue
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    log.info("watch of %s from resourceVersion %s: %s %s; listing again",
                             self.kind, self._version, obj.get("code"), obj.get("message"))
                    self._version = None
                    return
                seen = (obj.get("metadata") or {}).get("resourceVersion") or self._version
                if kind != "BOOKMARK":
                    log.debug("%s %s %s rv=%s", self.kind, kind,
                              (obj.get("metadata") or {}).get("name"), seen)
                    self._handler(self.kind, str(kind), obj)
                self._version = seen  # handled: a broken stream resumes after it
                if self._progress is not None and seen:
                    self._progress(self.kind, str(seen))
        finally:
            self._response = None
            response.close()
            response.release_conn()

    def _back_off(self, why: str, seconds: float) -> None:
        if not self._stop.is_set():
            log.warning("watching %s failed (%s); retrying in %.0fs", self.kind, why, seconds)
            self._stop.wait(seconds)
