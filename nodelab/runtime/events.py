"""GetContainerEvents: a fan-out of container lifecycle events to every subscribed stream.

Each subscriber (a kubelet's PLEG stream) gets its own bounded queue; a subscriber too slow to
keep up loses its oldest events rather than blocking the runtime. Exits are noticed by a watcher
thread that polls the monitors' exit dir, so a container that dies on its own produces a
CONTAINER_STOPPED_EVENT like one stopped through CRI.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import Any


class EventBus:
    def __init__(self, depth: int = 1000) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[queue.Queue[Any]] = []
        self._depth = depth

    def subscribe(self) -> queue.Queue[Any]:
        q: queue.Queue[Any] = queue.Queue(self._depth)
        with self._lock:
            self._subscribers.append(q)
        return q

    def unsubscribe(self, q: queue.Queue[Any]) -> None:
        with self._lock:
            if q in self._subscribers:
                self._subscribers.remove(q)

    def publish(self, event: Any) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for q in subscribers:
            while True:
                try:
                    q.put_nowait(event)
                    break
                except queue.Full:
                    with contextlib.suppress(queue.Empty):
                        q.get_nowait()
