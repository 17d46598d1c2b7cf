"""`additionalPrinterColumns` as the columns of `kubectl get` (upstream's
`apiserver/tableconvertor`).

A version's columns follow `Name` (format `name`); a version without any gets upstream's
default, `Age` from `.metadata.creationTimestamp`. A cell is the value at the column's JSON
path: a `string` column prints it as `kubectl get -o jsonpath` would, `integer`, `number` and
`boolean` columns carry the JSON value when it has that type (else no value), and a `date`
column shows the age of the timestamp (`5m`), as the server does upstream. The JSON paths
served are field names and list indexes (`.spec.cronSpec`, `.status.conditions[0].type`);
others are refused when the CRD is written.
"""

from __future__ import annotations

import json
import re
from typing import Any

from nodelab.kube.objects import Object
from nodelab.kube.times import age

DEFAULT_COLUMNS: list[Object] = [{
    "name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
    "description": "CreationTimestamp is a timestamp representing the server time when this "
                   "object was created."}]
NAME_COLUMN: Object = {
    "name": "Name", "type": "string", "format": "name", "priority": 0,
    "description": "Name must be unique within a namespace. Is required when creating "
                   "resources, although some resources may allow a client to request the "
                   "generation of an appropriate name automatically."}
_STEP = re.compile(r"\.([A-Za-z0-9_$@-]+)|\[(\d+)\]")


def parse_path(text: Any) -> list[str | int] | None:
    """The steps of a JSON path of field names and indexes (braces allowed), else None."""
    if not isinstance(text, str):
        return None
    path = text.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    steps: list[str | int] = []
    position = 0
    while position < len(path):
        found = _STEP.match(path, position)
        if found is None:
            return None
        steps.append(found.group(1) if found.group(1) is not None else int(found.group(2)))
        position = found.end()
    return steps if steps else None


def value_at(obj: Any, steps: list[str | int]) -> Any:
    for step in steps:
        if isinstance(step, int):
            if not isinstance(obj, list) or step >= len(obj):
                return None
        elif not isinstance(obj, dict):
            return None
        obj = obj[step] if isinstance(step, int) else obj.get(step)
        if obj is None:
            return None
    return obj


def columns_of(version: Object) -> list[Object]:
    return list(version.get("additionalPrinterColumns") or DEFAULT_COLUMNS)


def definitions(version: Object) -> list[Object]:
    found = [NAME_COLUMN]
    for column in columns_of(version):
        found.append({"name": column["name"], "type": column["type"],
                      "format": column.get("format", ""),
                      "description": column.get("description") or (
                          "Custom resource definition column (in JSONPath format): "
                          + str(column["jsonPath"])),
                      "priority": int(column.get("priority") or 0)})
    return found


def _cell(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if kind == "integer":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind == "number":
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind == "date":
        return age(value) if isinstance(value, str) else None
    return None


def row(version: Object, obj: Object) -> list[Any]:
    cells: list[Any] = [str((obj.get("metadata") or {}).get("name", ""))]
    for column in columns_of(version):
        steps = parse_path(column.get("jsonPath")) or []
        cells.append(_cell(str(column.get("type")), value_at(obj, steps)))
    return cells
