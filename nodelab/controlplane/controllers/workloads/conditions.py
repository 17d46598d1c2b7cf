"""Status conditions and status patches, as upstream's controllers write them.

- `set_condition` adds or updates a condition of a type; `lastTransitionTime` changes only
  when the status does (upstream's `ensureJobConditionStatus` and friends);
- `status_patch` is the JSON merge patch that turns one status into another: changed keys
  with their new values, keys that went away as `null` (Go's `omitempty` leaves zero counters
  out of a status, so a counter dropping to 0 has to be removed, not set).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodelab.kube.objects import ObjectView


def find_condition(status: ObjectView, kind: str) -> dict[str, Any] | None:
    for condition in status.get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return None


def is_true(status: ObjectView, kind: str) -> bool:
    condition = find_condition(status, kind)
    return condition is not None and condition.get("status") == "True"


def set_condition(conditions: list[dict[str, Any]], kind: str, status: str, reason: str,
                  message: str, now: str) -> bool:
    """Add or update the condition `kind` in place; whether anything changed."""
    for condition in conditions:
        if condition.get("type") != kind:
            continue
        if (condition.get("status"), condition.get("reason"), condition.get("message")) == (
                status, reason, message):
            return False
        if condition.get("status") != status:
            condition["lastTransitionTime"] = now
        condition.update(status=status, reason=reason, message=message, lastProbeTime=now)
        return True
    conditions.append({"type": kind, "status": status, "lastProbeTime": now,
                       "lastTransitionTime": now, "reason": reason, "message": message})
    return True


def status_patch(current: ObjectView, wanted: ObjectView) -> dict[str, Any] | None:
    """The merge patch from `current` to `wanted` (None when they are equal); objects are
    diffed key by key, since merging `{}` into an object changes nothing."""
    patch: dict[str, Any] = {}
    for key, value in wanted.items():
        old = current.get(key)
        if old == value:
            continue
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            patch[key] = status_patch(old, value)
        else:
            patch[key] = value
    patch.update({k: None for k in current if k not in wanted})
    return patch or None
