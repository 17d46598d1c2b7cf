"""A cache whose entries expire (apimachinery's util/cache `Expiring`, as the webhook
authenticator's and authorizer's caches use it).

The kubelet caches its TokenReview and SubjectAccessReview answers (`webhook.cacheTTL`,
`cacheAuthorizedTTL`, `cacheUnauthorizedTTL`), metrics-server its SubjectAccessReview answers
(the delegating authorizer's 10 s): each entry has its own time to live, and a time to live
of 0 or less caches nothing. The cache is bounded: past `limit` entries it drops those that
expired, and everything if that is not enough.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class ExpiringCache(Generic[V]):
    def __init__(self, clock: Callable[[], float] = time.monotonic, limit: int = 4096) -> None:
        self._clock = clock
        self._limit = limit
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[bool, V | None]:
        """(True, value) while the entry lives; (False, None) when missing or expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= self._clock():
                self._entries.pop(key, None)
                return False, None
            return True, entry[1]

    def put(self, key: Hashable, value: V, ttl: float) -> None:
        if ttl <= 0:
            return
        with self._lock:
            if len(self._entries) > self._limit:
                now = self._clock()
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                if len(self._entries) > self._limit:
                    self._entries.clear()
            self._entries[key] = (self._clock() + ttl, value)
