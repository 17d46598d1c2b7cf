"""The one event recorder of every nodelab agent (client-go's tools/record broadcaster sink).

Each component (the kubelet, the controllers, the scheduler, kube-proxy) makes one
`EventRecorder` over its API client and records every Event through it. It runs the event
through client-go's correlator (`nodelab.kubewire.correlator`): a repeat of an Event already
sent PATCHes that Event's `count`, `lastTimestamp` and `message` (a strategic merge patch, as
`recordEvent`), ten similar events within ten minutes become one "(combined from similar
events): ..." Event, and a source may burst 25 events about an object, then one per 5 minutes.
A patch of an Event that is gone (expired, deleted) creates it again; the server's answer is
handed back to the correlator (`UpdateState`). Recording is best effort, as upstream's: a
failure is logged and never fails the caller.

nodelab sends synchronously, under one lock (upstream queues to a goroutine that retries a
transport error 12 times, 10 s apart); an error is logged and the event dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from nodelab.kube.verbs import STRATEGIC_PATCH, ResourceVerbs, status_of
from nodelab.kubewire.correlator import Decision, EventCorrelator
from nodelab.kubewire.times import from_epoch

log = logging.getLogger("nodelab.events")


class EventRecorder:
    def __init__(self, rest: ResourceVerbs, clock: Callable[[], float] = time.time) -> None:
        self.rest = rest
        self.clock = clock
        self.correlator = EventCorrelator()
        self._lock = threading.Lock()

    def record(self, event: dict[str, Any]) -> Decision:
        """Send `event` (made now) as the correlator decides; what was decided."""
        with self._lock:
            now = self.clock()
            decision = self.correlator.correlate(event, now, from_epoch(now))
            if decision.action == "skip":
                log.info("event %s about %s skipped by the spam filter (a source may send 25 "
                         "events about an object, then one per 5 minutes)",
                         event.get("reason"), (event.get("involvedObject") or {}).get("name"))
                return decision
            try:
                self.correlator.update_state(self._send(decision))
            except Exception as exc:  # best effort, as upstream's recorder
                log.warning("cannot record event %s about %s: %s", event.get("reason"),
                            (event.get("involvedObject") or {}).get("name"), exc)
            return decision

    def _send(self, decision: Decision) -> dict[str, Any]:
        event = decision.event
        namespace = event["metadata"]["namespace"]
        if decision.action == "patch":
            try:
                return self.rest.patch("events", namespace, event["metadata"]["name"],
                                       decision.patch, content_type=STRATEGIC_PATCH)
            except Exception as exc:
                if status_of(exc) != 404:
                    raise
        created = {**event, "metadata": {key: value for key, value in event["metadata"].items()
                                         if key != "resourceVersion"}}
        return self.rest.create("events", namespace, created)
