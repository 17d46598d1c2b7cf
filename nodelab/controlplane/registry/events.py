"""The two faces of Event: core/v1 (stored) and events.k8s.io/v1 (converted on the way).

Upstream stores one Event and serves it in both groups; the field names differ
(`involvedObject` vs `regarding`, `message` vs `note`, `source` vs `deprecatedSource`, ...).
`to_core` converts an events.k8s.io/v1 body for storage, `from_core` converts back for reading.
"""

from __future__ import annotations

from nodelab.kube.objects import Object

# events.k8s.io/v1 field -> core/v1 field
_RENAMES = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
    "reportingController": "reportingComponent",
}
_SAME = ("metadata", "eventTime", "series", "related", "action", "reason", "type",
         "reportingInstance")


def to_core(obj: Object) -> Object:
    core: Object = {"apiVersion": "v1", "kind": "Event"}
    for key in _SAME:
        if key in obj:
            core[key] = obj[key]
    for new, old in _RENAMES.items():
        if new in obj:
            core[old] = obj[new]
    core.setdefault("involvedObject", {})
    return core


def from_core(obj: Object) -> Object:
    event: Object = {"apiVersion": "events.k8s.io/v1", "kind": "Event"}
    for key in _SAME:
        if key in obj:
            event[key] = obj[key]
    for new, old in _RENAMES.items():
        if old in obj:
            event[new] = obj[old]
    return event
