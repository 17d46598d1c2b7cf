"""core/v1 Events as agents record them (what `kubectl describe` and `kubectl get events` show).

`event_for(obj, ...)` builds the Event for any object (its involvedObject taken from the
object's kind, name, namespace, uid and apiVersion); cluster-scoped objects' events go to the
`default` namespace, as upstream's do. The Event's shape is `nodelab.kubewire.events` (shared
with the add-ons).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from nodelab.kubewire import times
from nodelab.kubewire.events import event


def involved_object(obj: Mapping[str, Any], kind: str, api_version: str = "v1") -> dict[str, Any]:
    metadata = obj.get("metadata") or {}
    involved = {"kind": kind, "name": metadata.get("name"), "apiVersion": api_version}
    if metadata.get("namespace"):
        involved["namespace"] = metadata["namespace"]
    if metadata.get("uid"):
        involved["uid"] = metadata["uid"]
    if metadata.get("resourceVersion"):
        involved["resourceVersion"] = metadata["resourceVersion"]
    return involved


def event_for(
    obj: Mapping[str, Any],
    kind: str,
    reason: str,
    message: str,
    *,
    component: str,
    event_type: str = "Normal",
    host: str | None = None,
    api_version: str = "v1",
    now: str | None = None,
) -> dict[str, Any]:
    involved = involved_object(obj, kind, api_version)
    return event(involved, f"{involved['name']}.{secrets.token_hex(8)}", reason, message,
                 component=component, stamp=now or times.now(), event_type=event_type,
                 host=host)
