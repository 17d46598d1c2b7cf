"""A reflector: list a resource, then watch it from the list's resourceVersion, forever.

Objects are handled as plain dicts (the JSON the API server sent), which keeps plans pure and
comparable. Each reflector runs in its own daemon thread and reports to a handler:
`handler(kind, "LIST", [objects])` after every (re)list, then `handler(kind, "ADDED" |
"MODIFIED" | "DELETED", object)` per event. A watch that ends is resumed from the last
resourceVersion seen (bookmarks included); 410 Gone or an ERROR event makes it list again;
other failures back off exponentially (1 s to 30 s). `stop()` ends it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("nodelab.kube")

Handler = Callable[[str, str, Any], None]
ListFunction = Callable[..., Any]


class Reflector:
    def __init__(self, kind: str, list_fn: ListFunction, handler: Handler,
                 *, watch_timeout: int = 290, **list_kwargs: Any) -> None:
        self.kind = kind
        self._list_fn = list_fn
        self._handler = handler
        self._watch_timeout = watch_timeout
        self._list_kwargs = list_kwargs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"reflector-{kind}", daemon=True)
        self.synced = threading.Event()

    def start(self) -> Reflector:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _list(self) -> str:
        response = self._list_fn(_preload_content=False, **self._list_kwargs)
        data = json.loads(response.data)
        self._handler(self.kind, "LIST", data.get("items") or [])
        self.synced.set()
        return str((data.get("metadata") or {}).get("resourceVersion") or "")

    def _run(self) -> None:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        version: str | None = None
        backoff = 1.0
        while not self._stop.is_set():
            try:
                if version is None:
                    version = self._list()
                log.debug("watching %s from resourceVersion %s", self.kind, version)
                stream = watch.Watch()  # type: ignore[no-untyped-call]
                for event in stream.stream(  # type: ignore[no-untyped-call]
                    self._list_fn,
                    resource_version=version,
                    timeout_seconds=self._watch_timeout,
                    allow_watch_bookmarks=True,
                    deserialize=False,
                    **self._list_kwargs,
                ):
                    if self._stop.is_set():
                        stream.stop()  # type: ignore[no-untyped-call]
                        return
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        version = None  # usually 410 Gone: list again
                        break
                    version = (obj.get("metadata") or {}).get("resourceVersion") or version
                    if kind != "BOOKMARK":
                        log.debug("%s %s %s rv=%s", self.kind, kind,
                                  (obj.get("metadata") or {}).get("name"), version)
                        self._handler(self.kind, str(kind), obj)
                log.debug("watch of %s ended at resourceVersion %s", self.kind, version)
                backoff = 1.0
            except ApiException as exc:
                if exc.status == 410:
                    version = None
                    continue
                self._back_off(f"{exc.status} {exc.reason}", backoff)
                backoff = min(backoff * 2, 30.0)
            except Exception as exc:  # connection errors: keep trying, the server may restart
                self._back_off(str(exc), backoff)
                backoff = min(backoff * 2, 30.0)

    def _back_off(self, why: str, seconds: float) -> None:
        if not self._stop.is_set():
            log.warning("watching %s failed (%s); retrying in %.0fs", self.kind, why, seconds)
            self._stop.wait(seconds)
