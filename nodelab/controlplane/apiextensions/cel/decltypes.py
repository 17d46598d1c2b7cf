"""The CEL type of a structural schema node, as upstream's `SchemaDeclType`
(k8s.io/apiserver/pkg/cel/common/schemas.go), and a custom object's value in that shape
(upstream's `UnstructuredToVal`).

    integer -> int          number -> double        boolean -> bool
    string  -> string; format byte -> bytes, duration -> duration, date/date-time -> timestamp
    array   -> list(items)  object with additionalProperties -> map(string, value)
    object  -> an object type with one field per property (escaped: `foo-bar` is
               `foo__dash__bar`, `namespace` is `__namespace__`, as `Escape`)
    x-kubernetes-int-or-string -> dyn
    the root of a resource (and of an x-kubernetes-embedded-resource) adds `apiVersion`,
    `kind` and `metadata` with `name` and `generateName` (`WithTypeAndObjectMeta`)

`x-kubernetes-preserve-unknown-fields` adds nothing: rules reach only the fields the schema
declares (upstream: "we don't support validation rules on data that we don't have schema
information for"). A node without a type (and not int-or-string) has no CEL type and its
field is left out.

The checker (cel-cpp, `cel_expr_python`) knows object types as protobuf messages, so each
object node becomes a message of a descriptor pool built for one schema (proto2, so a field
has presence for `has()`); a list of lists or a map of maps is `google.protobuf.ListValue`/
`Value` (list(dyn)/dyn) inside a message, which protobuf cannot nest. Only the check sees these
messages: rules are evaluated on the object itself as maps and lists (`runtime_value`), so a
missing field is upstream's "no such key" error rather than a protobuf default.
"""

from __future__ import annotations

import base64
import datetime
import itertools
import re
from dataclasses import dataclass
from typing import Any

RESERVED = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
    "function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
    "void", "while",
})
_EXPAND = re.compile(r"(__|[-./]|[^a-zA-Z0-9\-./_])")
_ESCAPES = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}
PACKAGE = "nodelab.crd"


def escape(name: str) -> str | None:
    """A property name as a CEL identifier (upstream's `Escape`), None when it has none."""
    if not name or name[0].isdigit():
        return None
    if name in RESERVED:
        return f"__{name}__"
    unsupported = False

    def one(match: re.Match[str]) -> str:
        nonlocal unsupported
        if match.group(0) in _ESCAPES:
            return _ESCAPES[match.group(0)]
        unsupported = True
        return ""

    escaped = _EXPAND.sub(one, name)
    return None if unsupported else escaped


@dataclass(frozen=True)
class DeclType:
    """A CEL type: `kind` is int, double, bool, string, bytes, duration, timestamp, dyn,
    list, map or object; `elem` the item/value type; `fields` an object's (escaped) fields."""

    kind: str
    elem: DeclType | None = None
    fields: tuple[tuple[str, DeclType], ...] = ()
    name: str = ""  # the message of an object type
    # upstream's size bounds for the cost estimate: how many items, properties or bytes a
    # value may have (maxItems, maxProperties, maxLength, else what fits in a request) and
    # the fewest bytes it takes in JSON
    max_elements: int = 0
    min_size: int = 1


_SCALARS = {"integer": "int", "number": "double", "boolean": "bool"}
_STRING_FORMATS = {"byte": "bytes", "duration": "duration", "date": "timestamp",
                   "date-time": "timestamp"}
NAME_MAX_LENGTH = 253  # DNS1123SubdomainMaxLength


def with_type_and_object_meta(schema: dict[str, Any]) -> dict[str, Any]:
    """A resource root's schema with `apiVersion`, `kind` and `metadata` (name at most 253
    characters, generateName 252, or the schema's own shorter maxLength), as upstream's
    `WithTypeAndObjectMeta`."""
    properties = dict(schema.get("properties") or {})
    found = properties.get("metadata")
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    declared: dict[str, Any] = metadata.get("properties") or {}
    if all(isinstance(properties.get(k), dict) and properties[k].get("type") == "string"
           for k in ("apiVersion", "kind")) and metadata.get("type") == "object" and all(
            isinstance(declared.get(k), dict) and declared[k].get("type") == "string"
            for k in ("name", "generateName")):
        return {**schema, "type": "object"}

    def capped(name: str, most: int) -> dict[str, Any]:
        own = (declared.get(name) or {}).get("maxLength") if isinstance(
            declared.get(name), dict) else None
        if isinstance(own, int) and not isinstance(own, bool) and own < most:
            most = own
        return {"type": "string", "maxLength": most}

    properties.update({"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                       "metadata": {"type": "object", "properties": {
                           "name": capped("name", NAME_MAX_LENGTH),
                           "generateName": capped("generateName", NAME_MAX_LENGTH - 1)}}})
    return {**schema, "type": "object", "properties": properties}


class Namer:
    """Unique message names for the object types of one schema."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)

    def next(self) -> str:
        return f"Object{next(self._numbers)}"


MAX_REQUEST_BYTES = 3 * 1024 * 1024  # celconfig.MaxRequestSizeBytes
_MIN_SIZES = {"int": 1, "double": 1, "bool": 4}  # MinNumberSize, MinBoolSize
# format -> (kind, min JSON size, max length) of upstream's string formats
_FORMATS = {"duration": ("duration", 3, 32), "date": ("timestamp", 12, 12),
            "date-time": ("timestamp", 21, 32)}


def decl_type(schema: Any, resource_root: bool, namer: Namer) -> DeclType | None:
    """The CEL type of `schema` (None: the node has none and is left out), with upstream's
    size bounds (`SchemaDeclType`)."""
    if not isinstance(schema, dict):
        return None
    if schema.get("x-kubernetes-int-or-string") is True:
        return DeclType("dyn", max_elements=_max_length(schema, MAX_REQUEST_BYTES - 2))
    if resource_root:
        schema = with_type_and_object_meta(schema)
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items")
        if not isinstance(items, dict):
            return None
        elem = decl_type(items, items.get("x-kubernetes-embedded-resource") is True, namer)
        if elem is None:
            return None
        most = _bound(schema, "maxItems", (MAX_REQUEST_BYTES - 2) // (elem.min_size + 1))
        return DeclType("list", elem, max_elements=most, min_size=2)
    if kind == "object":
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            elem = decl_type(additional,
                             additional.get("x-kubernetes-embedded-resource") is True, namer)
            if elem is None:
                return None
            most = _bound(schema, "maxProperties",
                          (MAX_REQUEST_BYTES - 2) // (elem.min_size + 6))
            return DeclType("map", elem, max_elements=most, min_size=2)
        fields = []
        required = set(schema.get("required") or [])
        min_size = 2  # {}
        for name, prop in sorted((schema.get("properties") or {}).items()):
            escaped = escape(name)
            field = decl_type(prop, isinstance(prop, dict) and prop.get(
                "x-kubernetes-embedded-resource") is True, namer)
            if field is None:
                continue
            if escaped is not None:
                fields.append((escaped, field))
            if name in required and "default" not in prop:
                min_size += len(name) + field.min_size + 4
        return DeclType("object", fields=tuple(fields), name=namer.next(), min_size=min_size)
    if kind == "string":
        fmt = str(schema.get("format") or "")
        if fmt in _FORMATS:
            cel_kind, least, most = _FORMATS[fmt]
            return DeclType(cel_kind, max_elements=most, min_size=least)
        if fmt == "byte":
            return DeclType("bytes", max_elements=_bound(schema, "maxLength",
                                                         MAX_REQUEST_BYTES - 2), min_size=2)
        enum_most = max((len(v) for v in schema.get("enum") or [] if isinstance(v, str)),
                        default=0)
        return DeclType("string", max_elements=_max_length(
            schema, enum_most if schema.get("enum") else MAX_REQUEST_BYTES - 2), min_size=2)
    if kind in _SCALARS:
        return DeclType(_SCALARS[kind], min_size=_MIN_SIZES[_SCALARS[kind]])
    return None


def _bound(schema: dict[str, Any], key: str, otherwise: int) -> int:
    value = schema.get(key)
    return max(value, 0) if isinstance(value, int) and not isinstance(value, bool) \
        else otherwise


def _max_length(schema: dict[str, Any], otherwise: int) -> int:
    """A string's most bytes: 4 per character of `maxLength` (a code point takes up to 4)."""
    value = schema.get("maxLength")
    return max(value, 0) * 4 if isinstance(value, int) and not isinstance(value, bool) \
        else otherwise


def runtime_value(schema: Any, value: Any, resource_root: bool = False) -> Any:
    """`value` as rules see it: properties under their escaped names (null ones absent),
    integers of `number` fields as doubles, `byte`/`duration`/`date-time` strings as
    bytes/durations/timestamps (a string that does not parse stays a string: the schema's
    own format check refuses it first)."""
    if not isinstance(schema, dict) or value is None:
        return _json_numbers(value)
    if schema.get("x-kubernetes-int-or-string") is True:
        return _json_numbers(value)
    if resource_root:
        schema = with_type_and_object_meta(schema)
    if isinstance(value, dict):
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            return {k: runtime_value(additional, v, _embedded(additional))
                    for k, v in value.items() if v is not None}
        properties = schema.get("properties") or {}
        converted = {}
        for key, item in value.items():
            if item is None:  # "null valued fields are treated as absent fields"
                continue
            prop = properties.get(key)
            escaped = escape(key)
            if prop is None:
                converted[key] = _json_numbers(item)
            elif escaped is not None:
                converted[escaped] = runtime_value(prop, item, _embedded(prop))
        return converted
    if isinstance(value, list):
        items = schema.get("items")
        return [runtime_value(items, item, _embedded(items)) for item in value]
    kind = schema.get("type")
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, int):
        return _json_numbers(value)
    if kind == "string" and isinstance(value, str):
        return _formatted(str(schema.get("format") or ""), value)
    return value


INT64 = (-(2**63), 2**63 - 1)


def _json_numbers(value: Any) -> Any:
    """Integers past int64 as doubles, as upstream's JSON decoding of unstructured objects
    reads them (cel-cpp would refuse them)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if INT64[0] <= value <= INT64[1] else float(value)
    if isinstance(value, list):
        return [_json_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    return value


def _embedded(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("x-kubernetes-embedded-resource") is True


_GO_DURATION = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> datetime.timedelta | None:
    """A Go duration (`1h30m`, `-1.5s`), as `time.ParseDuration`; None when it is not one."""
    sign, rest = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
    if rest == "0":
        return datetime.timedelta(0)
    parts = list(_GO_DURATION.finditer(rest))
    if not parts or "".join(p.group(0) for p in parts) != rest or any(
            p.group(1) in ("", ".") for p in parts):
        return None
    seconds = sum(float(p.group(1)) * _UNITS[p.group(2)] for p in parts)
    return datetime.timedelta(seconds=sign * seconds)


def parse_timestamp(text: str) -> datetime.datetime | None:
    """An RFC 3339 time (or a date, at midnight UTC); None when it is not one."""
    try:
        if len(text) == 10:
            day = datetime.date.fromisoformat(text)
            return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc)
        stamp = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=datetime.timezone.utc)


def _formatted(fmt: str, value: str) -> Any:
    """A formatted string as its CEL value (durations and timestamps as the protobuf
    well-known messages, which is how cel-cpp takes them from Python)."""
    from google.protobuf import duration_pb2, timestamp_pb2  # noqa: PLC0415

    if fmt == "byte":
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            return value
    if fmt == "duration" and (delta := parse_duration(value)) is not None:
        duration = duration_pb2.Duration()
        duration.FromTimedelta(delta)
        return duration
    if fmt in ("date", "date-time") and (stamp := parse_timestamp(value)) is not None:
        timestamp = timestamp_pb2.Timestamp()
        timestamp.FromDatetime(stamp)
        return timestamp
    return value
