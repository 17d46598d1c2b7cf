"""client-go's event correlator (tools/record/events_cache.go), so a detector does not flood
the API server when the kernel repeats itself.

Every event goes through three steps, as `EventCorrelator.EventCorrelate`:
1. **aggregation**: events alike but for their message (same source, object, type, reason)
   are counted per 10 minutes; from the 10th on, the event becomes one
   "(combined from similar events): <message>" event, which is updated, not created again;
2. **observation**: an event equal to one already sent (same key) is sent as a patch of that
   event (count + 1, lastTimestamp, message) instead of a new object;
3. **spam filter**: per source and object, a token bucket of 25 events refilled at one per
   5 minutes; an event finding the bucket empty is dropped.

`correlate` is pure but for the correlator's own memory; the caller sends what it decides.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

SPAM_BURST = 25
SPAM_QPS = 1.0 / 300.0
MAX_EVENTS = 10  # similar events before they are combined
MAX_INTERVAL = 600.0  # seconds a similar-events record lasts
CACHE_SIZE = 4096  # entries per cache (client-go's maxLruCacheEntries)
COMBINED = "(combined from similar events): "

Event = dict[str, Any]


@dataclass(frozen=True)
class Decision:
    action: str  # "create", "patch" or "drop"
    event: Event  # the object to create, or the patched one (count, lastTimestamp, message)


def _object_key(event: Event) -> tuple[str, ...]:
    source, involved = event.get("source") or {}, event.get("involvedObject") or {}
    return (source.get("component", ""), source.get("host", ""), involved.get("kind", ""),
            involved.get("namespace", ""), involved.get("name", ""), involved.get("uid", ""),
            involved.get("apiVersion", ""))


def _aggregate_key(event: Event) -> tuple[str, ...]:
    return (*_object_key(event), event.get("type", ""), event.get("reason", ""),
            event.get("reportingComponent", ""), event.get("reportingInstance", ""))


def _event_key(event: Event) -> tuple[str, ...]:
    return (*_object_key(event), (event.get("involvedObject") or {}).get("fieldPath", ""),
            event.get("type", ""), event.get("reason", ""), event.get("message", ""))


class _Lru(OrderedDict[Any, Any]):
    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > CACHE_SIZE:
            self.popitem(last=False)


@dataclass
class _Similar:
    messages: set[str]
    last: float


@dataclass
class _Bucket:
    tokens: float
    last: float


@dataclass
class EventCorrelator:
    burst: int = SPAM_BURST
    qps: float = SPAM_QPS
    similar: _Lru = field(default_factory=_Lru)
    sent: _Lru = field(default_factory=_Lru)
    buckets: _Lru = field(default_factory=_Lru)

    def correlate(self, event: Event, now: float, stamp: str) -> Decision:
        """What to send for `event` at `now` (seconds; `stamp` the same time in RFC 3339)."""
        event, key = self._aggregate(event, now, stamp)
        previous = self.sent.get(key)
        if previous is None:
            observed = event
            action = "create"
        else:
            observed = copy.deepcopy(previous)
            observed["count"] = int(previous.get("count") or 1) + 1
            observed["lastTimestamp"] = stamp
            observed["message"] = event["message"]
            action = "patch"
        self.sent.put(key, observed)
        if not self._take_token(_object_key(observed), now):
            return Decision("drop", observed)
        return Decision(action, observed)

    def _aggregate(self, event: Event, now: float, stamp: str) -> tuple[Event, tuple[str, ...]]:
        key = _aggregate_key(event)
        record = self.similar.get(key)
        if record is None or now - record.last > MAX_INTERVAL:
            record = _Similar(set(), now)
        record.messages.add(event.get("message", ""))
        record.last = now
        self.similar.put(key, record)
        if len(record.messages) < MAX_EVENTS:
            return event, _event_key(event)
        record.messages.pop()
        combined = copy.deepcopy(event)
        combined["metadata"] = {**event.get("metadata", {}),
                                "name": f"{event['involvedObject']['name']}.{int(now * 1e9):x}"}
        combined.update(message=COMBINED + event.get("message", ""), count=1,
                        firstTimestamp=stamp, lastTimestamp=stamp)
        return combined, key

    def _take_token(self, key: tuple[str, ...], now: float) -> bool:
        bucket = self.buckets.get(key) or _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.last) * self.qps)
        bucket.last = now
        self.buckets.put(key, bucket)
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True
