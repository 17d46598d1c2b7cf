"""The vocabulary for Kubernetes objects as the agents hold them: JSON dicts.

Every component gets objects as JSON (the API server stores them so; the official client's
`sanitize_for_serialization` gives them so), so one alias names them everywhere:

- `Object`: an object (or any part of one) as a mutable JSON dict;
- `ObjectView`: the same, read-only (what pure plans take).

There are deliberately no TypedDicts for the Pod and its metadata. Objects arrive as
`dict[str, Any]` from the reflector, the store and the client, and mypy does not accept such a
dict where a TypedDict is declared, so typed parameters would need a `cast` at every place an
object enters, which checks nothing. The readers are defensive instead (`(pod.get("spec") or
{}).get("containers") or []`: a field may be absent, as in the API), the field names they act
on are listed with upstream's schema in `pod/fields.py` (which the unit tests check), and the
decisions that read them have table tests. The API server's `validation/` is what makes
objects well-formed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Object = dict[str, Any]
ObjectView = Mapping[str, Any]


def pod_ready(pod: ObjectView) -> bool:
    """Upstream's `IsPodReady`: the pod's (first) Ready condition is True."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False
