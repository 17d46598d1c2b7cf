"""The kubelet's status write as upstream's status manager sends it: a strategic merge patch
of what changed, with the pod's UID as a precondition (statusutil.PatchPodStatus: a two-way
merge patch from the status the kubelet read to the one it computed, plus
`{"metadata": {"uid": ...}}`).

Why a patch of changes and not the whole status: between the kubelet's read of the pod and its
write, another writer may add a condition (a readiness gate's controller, the scheduler's
DisruptionTarget, the node lifecycle controller's Ready=False). `conditions` merge by `type`,
so a patch that names only the conditions the kubelet changed leaves that one in place; a
whole-list write would drop it. `podIPs` and `hostIPs` merge by `ip`: a changed list is sent
whole with upstream's `$setElementOrder` and a `$patch: delete` for each address that went.
Other fields the kubelet writes (containerStatuses, phase, ...) are replaced when they
changed; fields it does not write (`nominatedNodeName`, a `reason` set at eviction) are not
mentioned, so they stay. The UID precondition refuses a write to a pod of the
same name made after this one was deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodelab.kube.objects import ObjectView

MERGE_KEYS = {"conditions": "type", "podIPs": "ip", "hostIPs": "ip"}


def _merged_list(key: str, merge_key: str, old: list[Any], new: list[Any]) -> dict[str, Any]:
    """The patch entries for a list that merges by `merge_key`."""
    if merge_key == "type":  # conditions: only the changed ones; the others stay as they are
        before = {c.get("type"): c for c in old}
        changed = [c for c in new if before.get(c.get("type")) != c]
        return {key: changed} if changed else {}
    if old == new:
        return {}
    kept = {item.get(merge_key) for item in new}
    gone = [{merge_key: item.get(merge_key), "$patch": "delete"} for item in old
            if item.get(merge_key) not in kept]
    return {f"$setElementOrder/{key}": [{merge_key: item.get(merge_key)} for item in new],
            key: [*new, *gone]}


def status_patch(uid: str, old: ObjectView, new: Mapping[str, Any]) -> dict[str, Any] | None:
    """The strategic merge patch from status `old` (as read) to `new`, or None if nothing
    changed."""
    changes: dict[str, Any] = {}
    for key in sorted(new):
        if key in MERGE_KEYS:
            changes.update(_merged_list(key, MERGE_KEYS[key], list(old.get(key) or []),
                                        list(new.get(key) or [])))
        elif old.get(key) != new[key]:
            changes[key] = new[key]
    if not changes:
        return None
    return {"metadata": {"uid": uid}, "status": changes}
