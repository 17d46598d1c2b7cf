"""Running controllers: one local cache fed by reflectors, level-triggered syncs.

Each controller names the kinds it reads (`kinds`) and has one `sync(store, writer)` that
looks at the whole cache and makes the API match its plan (the writer updates the cache at
once). The loop runs a controller whenever one
of its kinds changed (changes arriving together make one sync) and every `resync` seconds for
controllers that act on time passing (node lifecycle, evictions). A failing sync is logged and
retried at the next change or tick; it never stops the other controllers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from nodelab.kube.reflector import Reflector
from nodelab.kube.restclient import ApiAccess
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer

log = logging.getLogger("nodelab.controllers")


class Controller(Protocol):
    name: str
    kinds: tuple[str, ...]

    @property
    def periodic(self) -> bool:
        """Whether it also runs every `resync` seconds (it acts on time passing)."""

    def sync(self, store: Store, writer: Writer) -> None: ...


class ControllerLoop:
    def __init__(self, api: ApiAccess, controllers: Sequence[Controller],
                 resync: float = 1.0) -> None:
        self.rest = api
        self.controllers = list(controllers)
        self.resync = resync
        self._dirty: set[str] = set()
        self._wake = threading.Condition()
        self.store = Store(self._changed)
        self.writer = Writer(self.rest, self.store)
        kinds = sorted({k for c in self.controllers for k in c.kinds})
        self.reflectors = [Reflector(k, api.lister(k), self.store.handle,
                                     progress=self.store.mark_delivered) for k in kinds]
        for controller in self.controllers:
            share = getattr(controller, "share_reflectors", None)  # one with watches of its own
            if share is not None:  # reads these kinds from the store, starts no second one
                share(kinds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="controllers", daemon=True)

    def _changed(self, kind: str) -> None:
        with self._wake:
            self._dirty.add(kind)
            self._wake.notify()

    def start(self) -> ControllerLoop:
        for reflector in self.reflectors:
            reflector.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for reflector in self.reflectors:
            reflector.stop()
        for controller in self.controllers:
            stop = getattr(controller, "stop", None)  # one with watches of its own
            if stop is not None:
                stop()
        with self._wake:
            self._wake.notify()

    def wait_synced(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        return all(r.synced.wait(max(0.0, deadline - time.monotonic())) for r in self.reflectors)

    def _run(self) -> None:
        self.wait_synced(timeout=3600)
        last_tick = 0.0
        while not self._stop.is_set():
            with self._wake:
                if not self._dirty:
                    self._wake.wait(timeout=self.resync)
                time.sleep(0.02)  # let a burst of events land: one sync for all of them
                dirty, self._dirty = self._dirty, set()
            tick = time.monotonic() - last_tick >= self.resync
            if tick:
                last_tick = time.monotonic()
            for controller in self.controllers:
                if self._stop.is_set():
                    return
                if dirty & set(controller.kinds) or (tick and controller.periodic):
                    try:
                        controller.sync(self.store, self.writer)
                    except Exception:  # one controller failing must not stop the others
                        log.exception("controller %s failed; retrying", controller.name)
