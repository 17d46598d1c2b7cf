"""`additionalPrinterColumns` as the columns of `kubectl get` (upstream's
`apiserver/tableconvertor`).

A version's columns follow `Name` (format `name`); a version without any gets upstream's
default, `Age` from `.metadata.creationTimestamp`. A cell is the value at the column's JSON
path: a `string` column prints it as `kubectl get -o jsonpath` would, `integer`, `number` and
`boolean` columns carry the JSON value when it has that type (else no value), and a `date`
column shows the age of the timestamp (`5m`), as the server does upstream. The JSON paths
served are what operators' CRDs use: field names, quoted keys, list indexes, `[*]` and
equality filters (`.spec.cronSpec`, `.metadata.annotations['a.io/b']`,
`.status.conditions[?(@.type=="Ready")].status`); the first value found is the cell, as
upstream. Other JSON paths are refused when the CRD is written.
"""

from __future__ import annotations

import json
import re
from typing import Any

from nodelab.kube.objects import Object
from nodelab.kubewire.times import age

DEFAULT_COLUMNS: list[Object] = [{
    "name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
    "description": "CreationTimestamp is a timestamp representing the server time when this "
                   "object was created."}]
NAME_COLUMN: Object = {
    "name": "Name", "type": "string", "format": "name", "priority": 0,
    "description": "Name must be unique within a namespace. Is required when creating "
                   "resources, although some resources may allow a client to request the "
                   "generation of an appropriate name automatically."}
_STEP = re.compile(
    r"\.([A-Za-z0-9_$-]+)"                                   # .field
    r"|\[(\d+)\]"                                           # [0]
    r"|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]"           # ['key'] ["key"]
    r"|\[\*\]"                                              # [*]
    r"|\[\?\(@((?:\.[A-Za-z0-9_$-]+)+)\s*==\s*(?:\"([^\"]*)\"|'([^']*)'|(-?\d+|true|false))\)\]")
Step = str | int | tuple[str, ...]  # field, index, ("*",) or ("?", value, *field path)


def parse_path(text: Any) -> list[Step] | None:
    """The steps of a JSON path (braces allowed), else None."""
    if not isinstance(text, str):
        return None
    path = text.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    steps: list[Step] = []
    position = 0
    while position < len(path):
        found = _STEP.match(path, position)
        if found is None:
            return None
        field, index, single, double, where, text_a, text_b, literal = found.groups()
        if field is not None or single is not None or double is not None:
            steps.append(next(v for v in (field, single, double) if v is not None))
        elif index is not None:
            steps.append(int(index))
        elif where is not None:
            text = next((v for v in (text_a, text_b) if v is not None), None)
            # compared as JSON text: "Ready", 3, true
            value = json.dumps(json.loads(literal) if text is None else text)
            steps.append(("?", value, *where[1:].split(".")))
        else:
            steps.append(("*",))
        position = found.end()
    return steps if steps else None


def _values(obj: Any, steps: list[Step]) -> list[Any]:
    """Every value the path reaches (a filter or `[*]` may reach several)."""
    if not steps:
        return [obj]
    step, rest = steps[0], steps[1:]
    if isinstance(step, int):
        return _values(obj[step], rest) if isinstance(obj, list) and step < len(obj) else []
    if isinstance(step, str):
        return _values(obj[step], rest) if isinstance(obj, dict) and step in obj else []
    items = obj if isinstance(obj, list) else list(obj.values()) if isinstance(obj, dict) \
        else []
    if step[0] == "?":
        items = [i for i in items if _values(i, list(step[2:])) and json.dumps(
            _values(i, list(step[2:]))[0]) == step[1]]
    return [found for item in items for found in _values(item, rest)]


def value_at(obj: Any, steps: list[Step]) -> Any:
    found = [v for v in _values(obj, steps) if v is not None]
    return found[0] if found else None


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
