"""client-go's event correlator (tools/record/events_cache.go): what a recorder sends for an
Event, so a component that repeats itself does not flood the API server.

Every event goes through three steps, as `EventCorrelator.EventCorrelate`:
1. **aggregation** (`EventAggregator`): events alike but for their message (same source,
   object, type, reason, reporting controller and instance) are counted per 10 minutes; from
   the 10th distinct message on, the event becomes one "(combined from similar events):
   <message>" event, named afresh, whose later occurrences are counted on it;
2. **observation** (`eventLogger`): an event equal to one already sent (same source, object,
   field path, type, reason and message; or the same aggregate) is sent as a patch of that
   Event (`count` + 1, `lastTimestamp`, `message`; name and `firstTimestamp` of the first)
   instead of a new object;
3. **spam filter** (`EventSourceObjectSpamFilter`): per source, object and type, a token
   bucket of 25 events refilled at one per 5 minutes; an event finding it empty is skipped
   (its count is kept: the next one sent carries it).

`EventCorrelator.correlate` decides and remembers; the caller sends the decision and hands the
server's answer back to `update_state` (its name and count are what later patches build on).
Only the standard library: the node problem detector add-on uses it as the agents do.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

SPAM_BURST = 25  # defaultSpamBurst
SPAM_QPS = 1.0 / 300.0  # defaultSpamQPS
MAX_EVENTS = 10  # defaultAggregateMaxEvents: distinct messages before they are combined
MAX_INTERVAL = 600.0  # defaultAggregateIntervalInSeconds
CACHE_SIZE = 4096  # maxLruCacheEntries, per cache
COMBINED = "(combined from similar events): "

Event = dict[str, Any]
Action = Literal["create", "patch", "skip"]


@dataclass(frozen=True)
class Decision:
    """`create` the event, `patch` the Event it names with `patch`, or `skip` it (spam)."""

    action: Action
    event: Event
    patch: dict[str, Any] = field(default_factory=dict)


def _source(event: Event) -> tuple[str, str]:
    source = event.get("source") or {}
    return str(source.get("component", "")), str(source.get("host", ""))


def _involved(event: Event) -> dict[str, Any]:
    return event.get("involvedObject") or {}


def event_key(event: Event) -> tuple[str, ...]:
    """getEventKey: source, object (with its field path), type, reason, message."""
    ref = _involved(event)
    return (*_source(event), ref.get("kind", ""), ref.get("namespace", ""), ref.get("name", ""),
            ref.get("fieldPath", ""), ref.get("uid", ""), ref.get("apiVersion", ""),
            event.get("type", ""), event.get("reason", ""), event.get("message", ""))


def spam_key(event: Event) -> tuple[str, ...]:
    """getSpamKey: source, object (without field path) and type."""
    ref = _involved(event)
    return (*_source(event), ref.get("kind", ""), ref.get("namespace", ""), ref.get("name", ""),
            ref.get("uid", ""), ref.get("apiVersion", ""), event.get("type", ""))


def aggregate_key(event: Event) -> tuple[str, ...]:
    """EventAggregatorByReasonFunc's aggregate key (the local key is the message)."""
    ref = _involved(event)
    return (*_source(event), ref.get("kind", ""), ref.get("namespace", ""), ref.get("name", ""),
            ref.get("uid", ""), ref.get("apiVersion", ""), event.get("type", ""),
            event.get("reason", ""), event.get("reportingComponent", ""),
            event.get("reportingInstance", ""))


class _Lru(OrderedDict[tuple[str, ...], Any]):
    def put(self, key: tuple[str, ...], value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > CACHE_SIZE:
            self.popitem(last=False)

    def touch(self, key: tuple[str, ...]) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


@dataclass
class _Similar:
    messages: set[str]
    last: float


@dataclass(frozen=True)
class _Logged:
    count: int
    first: str
    name: str
    resource_version: str


@dataclass
class _Bucket:
    tokens: float
    last: float


@dataclass
class EventCorrelator:
    burst: int = SPAM_BURST
    qps: float = SPAM_QPS
    similar: _Lru = field(default_factory=_Lru)
    logged: _Lru = field(default_factory=_Lru)
    buckets: _Lru = field(default_factory=_Lru)

    def correlate(self, event: Event, now: float, stamp: str) -> Decision:
        """What to send for `event` at `now` (seconds; `stamp` the same time as a metav1.Time)."""
        aggregated, key = self._aggregate(event, now, stamp)
        observed, patch = self._observe(aggregated, key)
        if not self._take_token(spam_key(observed), now):
            return Decision("skip", observed)
        return Decision("patch" if patch else "create", observed, patch)

    def update_state(self, answer: Event) -> None:
        """Remember the server's copy of a sent Event (its name, count and resourceVersion)."""
        self.logged.put(event_key(answer), _logged(answer))

    def _aggregate(self, event: Event, now: float, stamp: str) -> tuple[Event, tuple[str, ...]]:
        key = aggregate_key(event)
        record = self.similar.touch(key)
        if record is None or now - record.last > MAX_INTERVAL:
            record = _Similar(set(), now)
        record.messages.add(str(event.get("message", "")))
        record.last = now
        self.similar.put(key, record)
        if len(record.messages) < MAX_EVENTS:
            return event, event_key(event)
        record.messages.pop()  # the set never grows past the threshold
        metadata = event.get("metadata") or {}
        combined = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{_involved(event).get('name', '')}.{int(now * 1e9):x}",
                         "namespace": metadata.get("namespace", "")},
            "count": 1, "firstTimestamp": stamp, "lastTimestamp": stamp,
            "involvedObject": copy.deepcopy(_involved(event)),
            "message": COMBINED + str(event.get("message", "")),
            "type": event.get("type", ""), "reason": event.get("reason", ""),
            "source": copy.deepcopy(event.get("source") or {}),
        }
        return combined, key

    def _observe(self, event: Event, key: tuple[str, ...]) -> tuple[Event, dict[str, Any]]:
        observed = copy.deepcopy(event)
        last: _Logged | None = self.logged.touch(key)
        patch: dict[str, Any] = {}
        if last is not None and last.count > 0:
            observed["metadata"] = {**(observed.get("metadata") or {}), "name": last.name}
            if last.resource_version:
                observed["metadata"]["resourceVersion"] = last.resource_version
            observed["firstTimestamp"] = last.first
            observed["count"] = last.count + 1
            patch = {"count": observed["count"], "lastTimestamp": observed.get("lastTimestamp"),
                     "message": observed.get("message", "")}
        self.logged.put(key, _logged(observed))
        return observed, patch

    def _take_token(self, key: tuple[str, ...], now: float) -> bool:
        bucket = self.buckets.touch(key) or _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.last) * self.qps)
        bucket.last = now
        self.buckets.put(key, bucket)
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True


def _logged(event: Event) -> _Logged:
    metadata = event.get("metadata") or {}
    return _Logged(int(event.get("count") or 0), str(event.get("firstTimestamp") or ""),
                   str(metadata.get("name", "")), str(metadata.get("resourceVersion") or ""))
