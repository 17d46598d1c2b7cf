"""Field ownership (`metadata.managedFields`): who set which field, as server-side apply needs.

Every write is made by a *field manager*: the `fieldManager` query parameter (kubectl sends
`kubectl-create`, `kubectl-edit`, `kubectl-client-side-apply`, ...), else the first word of the
User-Agent. Each manager has one entry per operation (`Update` or `Apply`) and subresource,
listing the fields it owns in upstream's `fieldsV1` notation (`{"f:spec": {"f:replicas": {}}}`).

- An **Update** (create, PUT, PATCH) takes ownership of the fields it changed, away from
  everyone else: updates never conflict.
- An **Apply** owns exactly the fields in its configuration. Applying a value to a field another
  manager owns with a *different* value is a conflict (409) unless `force=true`
  (`kubectl apply --server-side --force-conflicts`), which moves the field to the applier.
  Applying the same value shares ownership.

Fields are schema-aware paths (`fieldpaths.py`): a manager owns single fields of a container
(`k:{"name":"c"}` then `f:image`), items of a set, or an atomic list whole, as upstream's
schema says. The server-owned metadata (uid, resourceVersion, timestamps, ...) is never owned
by anyone; `status` is owned only through the `status` subresource. A field removed from the
object by an update is removed from every manager's set.
"""

from __future__ import annotations

from nodelab.controlplane.registry.fieldpaths import (
    MISSING,
    Path,
    field_set,
    from_fields_v1,
    to_fields_v1,
    value_at,
)
from nodelab.kube.objects import Object
from nodelab.kube.schema import Node
from nodelab.kubewire import times

_SERVER_METADATA = {"uid", "resourceVersion", "generation", "creationTimestamp",
                    "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields",
                    "selfLink", "name", "namespace"}


def owned_by_object(obj: Object, schema: Node, subresource: str = "") -> set[Path]:
    """The fields an object sets, minus what the server owns."""
    return {p for p in field_set(obj, schema) if p and _ownable(p, subresource)}


def _ownable(path: Path, subresource: str) -> bool:
    if path[0] in ("f:apiVersion", "f:kind"):
        return False
    if path[0] == "f:metadata" and (len(path) == 1 or path[1][2:] in _SERVER_METADATA):
        return False
    return (path[0] == "f:status") == (subresource == "status")


def changed(old: Object | None, new: Object, schema: Node, subresource: str = "") -> set[Path]:
    """Fields of `new` whose value differs from (or is absent in) `old`."""
    return {p for p in owned_by_object(new, schema, subresource)
            if old is None or value_at(old, p) != value_at(new, p)}


def _entry(manager: str, operation: str, api_version: str, subresource: str,
           paths: set[Path]) -> Object:
    entry: Object = {"manager": manager, "operation": operation, "apiVersion": api_version,
                     "time": times.now(), "fieldsType": "FieldsV1",
                     "fieldsV1": to_fields_v1(paths)}
    if subresource:
        entry["subresource"] = subresource
    return entry


def _same(entry: Object, manager: str, operation: str, subresource: str) -> bool:
    return (entry.get("manager"), entry.get("operation"), entry.get("subresource", "")) == (
        manager, operation, subresource)


def _without(entries: list[Object], taken: set[Path]) -> list[Object]:
    """Entries with the `taken` fields removed, dropping emptied entries."""
    result = []
    for entry in entries:
        paths = from_fields_v1(entry.get("fieldsV1"))
        left = paths - taken
        if left == paths:
            result.append(entry)
        elif left:
            result.append({**entry, "fieldsV1": to_fields_v1(left)})
    return result


def _gone(entries: list[Object], new: Object) -> set[Path]:
    """Owned fields `new` no longer has."""
    owned: set[Path] = set()
    for entry in entries:
        owned |= from_fields_v1(entry.get("fieldsV1"))
    return {p for p in owned if value_at(new, p) is MISSING}


def record_update(old: Object | None, new: Object, manager: str, schema: Node,
                  subresource: str = "") -> None:
    """Give `manager` the fields this create/update changed (sets new's managedFields); the
    fields it removed are nobody's any more."""
    entries = list(((old or {}).get("metadata") or {}).get("managedFields") or [])
    taken = changed(old, new, schema, subresource)
    meta = new.setdefault("metadata", {})
    entries = _without(entries, _gone(entries, new))
    if not taken:
        meta["managedFields"] = entries
        return
    mine = next((e for e in entries if _same(e, manager, "Update", subresource)), None)
    paths = taken | (from_fields_v1(mine.get("fieldsV1")) if mine else set())
    entry = _entry(manager, "Update", str(new.get("apiVersion", "")), subresource, paths)
    entries = _without([e for e in entries if e is not mine], taken)
    meta["managedFields"] = [*entries, entry]


def _is_item(path: Path) -> bool:
    return path[-1][:2] in ("k:", "v:")


def apply_conflicts(current: Object, applied: Object, manager: str, schema: Node
                    ) -> list[tuple[str, Path]]:
    """(other manager, field) pairs where `applied` sets a different value than they own.

    A list item both have (`k:`/`v:`) is no conflict by itself: only its fields can be."""
    paths = owned_by_object(applied, schema)
    found = []
    for entry in (current.get("metadata") or {}).get("managedFields") or []:
        if _same(entry, manager, "Apply", entry.get("subresource", "")):
            continue
        for owned in from_fields_v1(entry.get("fieldsV1")) & paths:
            if _is_item(owned):
                continue
            live = value_at(current, owned)
            if live is not MISSING and live != value_at(applied, owned):
                found.append((str(entry.get("manager")), owned))
    return sorted(set(found))


def record_apply(entries: list[Object], applied: Object, manager: str, forced: set[Path],
                 schema: Node) -> list[Object]:
    """Entries after an apply: this manager's Apply entry replaced, forced fields taken over."""
    others = [e for e in entries if not _same(e, manager, "Apply", "")]
    others = _without(others, forced) if forced else others
    entry = _entry(manager, "Apply", str(applied.get("apiVersion", "")), "",
                   owned_by_object(applied, schema))
    return [*others, entry]


def manager_from_user_agent(user_agent: str) -> str:
    """Upstream's default field manager: the User-Agent up to its first '/'."""
    return (user_agent.split("/", 1)[0].strip() or "unknown")[:128]
