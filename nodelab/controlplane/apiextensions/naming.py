"""The naming and establishing controllers, as pure functions (upstream's
`pkg/controller/status/naming_controller.go` and `pkg/controller/establish`).

A CRD's requested names (`spec.names`) become its `status.acceptedNames` when no other CRD of
the same group has accepted them already: plural, singular, each short name (against the
others' short names and resource names), kind and list kind (against the others' kinds and
list kinds). The first conflict found keeps the names accepted before (none, for a new CRD)
and sets `NamesAccepted` False with upstream's reason (`PluralConflict`, ...) and message
(`"crontabs" is already in use`). With names accepted the CRD is `Established` (reason
`InitialNamesAccepted`), which is when its custom resources are served; an Established CRD
stays so. A CRD being deleted is `Terminating` (`InstanceDeletionInProgress`) until its
objects are gone.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from nodelab.kube.objects import Object

NAMES_ACCEPTED = "NamesAccepted"
ESTABLISHED = "Established"
TERMINATING = "Terminating"
NAME_KEYS = ("plural", "singular", "shortNames", "kind", "listKind", "categories")


def condition(crd: Object, kind: str) -> Object | None:
    for found in (crd.get("status") or {}).get("conditions") or []:
        if isinstance(found, dict) and found.get("type") == kind:
            return found
    return None


def is_established(crd: Object) -> bool:
    found = condition(crd, ESTABLISHED)
    return found is not None and found.get("status") == "True"


def _conflict(names: Object, others: Sequence[Object]) -> tuple[str, str]:
    """(reason, message) of the first name another CRD of the group accepted, or ('', '')."""
    plurals = {str(o.get("plural", "")) for o in others}
    singulars = {str(o.get("singular", "")) for o in others}
    shorts = {s for o in others for s in o.get("shortNames") or []}
    kinds = {str(o.get("kind", "")) for o in others}
    list_kinds = {str(o.get("listKind", "")) for o in others}
    plural, singular = names.get("plural"), names.get("singular")
    if plural in plurals or plural in singulars:
        return "PluralConflict", f'"{plural}" is already in use'
    if singular in singulars or singular in plurals:
        return "SingularConflict", f'"{singular}" is already in use'
    for short in names.get("shortNames") or []:
        if short in shorts or short in plurals or short in singulars:
            return "ShortNamesConflict", f'"{short}" is already in use'
    kind, list_kind = names.get("kind"), names.get("listKind")
    if kind in kinds or kind in list_kinds:
        return "KindConflict", f'"{kind}" is already in use'
    if list_kind in list_kinds or list_kind in kinds:
        return "ListKindConflict", f'"{list_kind}" is already in use'
    return "", ""


def _set(conditions: list[Object], kind: str, status: str, reason: str, message: str,
         now: str) -> None:
    for i, found in enumerate(conditions):
        if found.get("type") == kind:
            if (found.get("status"), found.get("reason"), found.get("message")) != (
                    status, reason, message):
                stamp = now if found.get("status") != status else found.get(
                    "lastTransitionTime", now)
                conditions[i] = {"type": kind, "status": status, "lastTransitionTime": stamp,
                                 "reason": reason, "message": message}
            return
    conditions.append({"type": kind, "status": status, "lastTransitionTime": now,
                       "reason": reason, "message": message})


def desired_status(crd: Object, group_crds: Sequence[Object], now: str) -> Object:
    """The status the controllers give `crd`, given the other CRDs of its group (as stored)."""
    status: Object = copy.deepcopy(crd.get("status") or {})
    spec = crd.get("spec") or {}
    requested = {k: copy.deepcopy(v) for k, v in (spec.get("names") or {}).items()
                 if k in NAME_KEYS}
    name = (crd.get("metadata") or {}).get("name")
    others = [(o.get("status") or {}).get("acceptedNames") or {} for o in group_crds
              if (o.get("metadata") or {}).get("name") != name]
    conditions: list[Object] = [c for c in status.get("conditions") or []
                                if isinstance(c, dict)]
    reason, message = _conflict(requested, others)
    if reason:
        _set(conditions, NAMES_ACCEPTED, "False", reason, message, now)
        status.setdefault("acceptedNames", {"plural": "", "kind": ""})
    else:
        status["acceptedNames"] = requested
        _set(conditions, NAMES_ACCEPTED, "True", "NoConflicts", "no conflicts found", now)
    established = next((c for c in conditions if c.get("type") == ESTABLISHED), None)
    if not reason:
        if established is None or established.get("status") != "True":
            _set(conditions, ESTABLISHED, "True", "InitialNamesAccepted",
                 "the initial names have been accepted", now)
    elif established is None or established.get("status") != "True":
        _set(conditions, ESTABLISHED, "False", "NotAccepted", "not all names are accepted",
             now)
    if (crd.get("metadata") or {}).get("deletionTimestamp"):
        _set(conditions, TERMINATING, "True", "InstanceDeletionInProgress",
             "CustomResource deletion is in progress", now)
    status["conditions"] = conditions
    status.setdefault("storedVersions", [])
    return status
