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

Simplifications: lists are owned as a whole (upstream tracks list items by key), and the
server-owned metadata (uid, resourceVersion, timestamps, ...) is never owned by anyone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nodelab.controlplane.registry import objects

Object = dict[str, Any]
Path = tuple[str, ...]

_SERVER_METADATA = {"uid", "resourceVersion", "generation", "creationTimestamp",
                    "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields",
                    "selfLink", "name", "namespace"}
_MISSING = object()


def _leaves(value: Any, prefix: Path) -> set[Path]:
    if isinstance(value, dict) and value:
        found: set[Path] = set()
        for key, child in value.items():
            found |= _leaves(child, (*prefix, key))
        return found
    return {prefix}


def owned_by_object(obj: Object, subresource: str = "") -> set[Path]:
    """The leaf fields an object sets, minus what the server owns."""
    return {p for p in _leaves(obj, ()) if p and _ownable(p, subresource)}


def _ownable(path: Path, subresource: str) -> bool:
    if path[0] in ("apiVersion", "kind"):
        return False
    if path[0] == "metadata" and (len(path) == 1 or path[1] in _SERVER_METADATA):
        return False
    return (path[0] == "status") == (subresource == "status")


def changed(old: Object | None, new: Object, subresource: str = "") -> set[Path]:
    """Leaf fields of `new` whose value differs from (or is absent in) `old`."""
    return {p for p in owned_by_object(new, subresource)
            if old is None or value_at(old, p) != value_at(new, p)}


def value_at(obj: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return _MISSING
        obj = obj[key]
    return obj


def to_fields_v1(paths: Iterable[Path]) -> Object:
    tree: Object = {}
    for path in sorted(paths):
        node = tree
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    return tree


def from_fields_v1(tree: Any, prefix: Path = ()) -> set[Path]:
    if not isinstance(tree, dict) or not tree:
        return {prefix} if prefix else set()
    found: set[Path] = set()
    for key, child in tree.items():
        if key.startswith("f:"):
            found |= from_fields_v1(child, (*prefix, key[2:]))
        elif key == ".":
            found.add(prefix)
    return found


def _overlaps(a: Path, b: Path) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def _entry(manager: str, operation: str, api_version: str, subresource: str,
           paths: set[Path]) -> Object:
    entry: Object = {"manager": manager, "operation": operation, "apiVersion": api_version,
                     "time": objects.now(), "fieldsType": "FieldsV1",
                     "fieldsV1": to_fields_v1(paths)}
    if subresource:
        entry["subresource"] = subresource
    return entry


def _same(entry: Object, manager: str, operation: str, subresource: str) -> bool:
    return (entry.get("manager"), entry.get("operation"), entry.get("subresource", "")) == (
        manager, operation, subresource)


def _without(entries: list[Object], taken: set[Path], keep: Object | None) -> list[Object]:
    """Entries with the `taken` fields removed (but `keep`'s), dropping emptied entries."""
    result = []
    for entry in entries:
        if entry is keep:
            result.append(entry)
            continue
        paths = from_fields_v1(entry.get("fieldsV1"))
        left = {p for p in paths if not any(_overlaps(p, t) for t in taken)}
        if left:
            result.append({**entry, "fieldsV1": to_fields_v1(left)})
    return result


def record_update(old: Object | None, new: Object, manager: str,
                  subresource: str = "") -> None:
    """Give `manager` the fields this create/update changed (sets new's managedFields)."""
    entries = list(((old or {}).get("metadata") or {}).get("managedFields") or [])
    taken = changed(old, new, subresource)
    meta = new.setdefault("metadata", {})
    if not taken:
        meta["managedFields"] = entries
        return
    mine = next((e for e in entries if _same(e, manager, "Update", subresource)), None)
    paths = taken | (from_fields_v1(mine.get("fieldsV1")) if mine else set())
    entry = _entry(manager, "Update", str(new.get("apiVersion", "")), subresource, paths)
    entries = _without([e for e in entries if e is not mine], taken, None)
    meta["managedFields"] = [*entries, entry]


def apply_conflicts(current: Object, applied: Object, manager: str) -> list[tuple[str, Path]]:
    """(other manager, field) pairs where `applied` sets a different value than they own."""
    paths = owned_by_object(applied)
    found = []
    for entry in (current.get("metadata") or {}).get("managedFields") or []:
        if _same(entry, manager, "Apply", entry.get("subresource", "")):
            continue
        for owned in from_fields_v1(entry.get("fieldsV1")):
            for path in paths:
                if _overlaps(owned, path) and value_at(current, path) != value_at(applied, path):
                    found.append((str(entry.get("manager")), path))
    return sorted(set(found))


def record_apply(entries: list[Object], applied: Object, manager: str, forced: set[Path]
                 ) -> list[Object]:
    """Entries after an apply: this manager's Apply entry replaced, forced fields taken over."""
    others = [e for e in entries if not _same(e, manager, "Apply", "")]
    others = _without(others, forced, None) if forced else others
    entry = _entry(manager, "Apply", str(applied.get("apiVersion", "")), "",
                   owned_by_object(applied))
    return [*others, entry]


def manager_from_user_agent(user_agent: str) -> str:
    """Upstream's default field manager: the User-Agent up to its first '/'."""
    return (user_agent.split("/", 1)[0].strip() or "unknown")[:128]
