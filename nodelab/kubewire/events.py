"""The core/v1 Event client-go's recorder makes (tools/record's makeEvent and generateEvent).

One occurrence: `count` 1, first and last timestamp the same, `source` the reporting component
and its host, `reportingComponent`/`reportingInstance` beside them (the instance is the host,
or the component without one). The Event lives in its object's namespace; a cluster-scoped
object's (a Node's) in `default`, as upstream's. Who names it passes the name: client-go's
recorder uses `<object>.<UnixNano in hex>` (the node problem detector), the agents a random
suffix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def event(
    involved: Mapping[str, Any],
    name: str,
    reason: str,
    message: str,
    *,
    component: str,
    stamp: str,
    event_type: str = "Normal",
    host: str | None = None,
) -> dict[str, Any]:
    """The Event about the object `involved` refers to (an ObjectReference), made at `stamp`."""
    source = {"component": component}
    if host:
        source["host"] = host
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": involved.get("namespace") or "default"},
        "involvedObject": dict(involved),
        "reason": reason,
        "message": message,
        "type": event_type,
        "source": source,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
        "reportingComponent": component,
        "reportingInstance": host or component,
    }
