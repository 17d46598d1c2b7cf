"""Validation of a custom object against its version's `openAPIV3Schema`, with upstream's
field paths and texts (kube-openapi's validator as apiextensions-apiserver maps its results to
field errors in `apiserver/validation/validation.go`).

The keywords are OpenAPI 3.0's subset a structural schema may use (`structural.SERVED`):
`type` (with `nullable`, and `x-kubernetes-int-or-string` for an integer or a string),
`enum`, `format`, `minimum`/`maximum` (with the boolean `exclusive*` of OpenAPI 3.0),
`multipleOf`, `minLength`/`maxLength`/`pattern`, `minItems`/`maxItems`/`uniqueItems`,
`minProperties`/`maxProperties`/`required`, `properties`/`additionalProperties`/`items`, and
`allOf`/`anyOf`/`oneOf`/`not`. Each failure becomes one cause:

    type       spec.replicas: Invalid value: "string": spec.replicas in body must be of type
               integer: "string"                                  (FieldValueTypeInvalid)
    required   spec.cronSpec: Required value                      (FieldValueRequired)
    enum       spec.mode: Unsupported value: "x": supported values: "a", "b"
    maxLength  spec.name: Too long: may not be more than 10 bytes (FieldValueTooLong)
    maxItems   spec.items: Too many: 4: must have at most 3 items (FieldValueTooMany)
    others     spec.replicas: Invalid value: 0: spec.replicas in body should be greater than
               or equal to 1                                      (FieldValueInvalid)

A value of the wrong type is reported as that alone (its other checks do not apply). Formats
are upstream's (int32, int64, byte, date, date-time, ...); a format upstream does not know is
not checked, as upstream.

A `pattern` is RE2 (the `google-re2` binding, imported when a pattern is first met): Go's
regexp syntax, which upstream uses, and linear time, so a pattern like `(a+)+$` cannot stall
the server on a long value; a pattern RE2 does not accept (a back-reference, a look-ahead) is
refused when the CRD is written (`pattern_error`).

nodelab checks these itself rather than with the `jsonschema` library: that library's import
(its optional format checkers build grammars) takes one to seven seconds and ~15 MiB in the
API server, for keywords this short list covers with upstream's own texts.
"""

from __future__ import annotations

import base64
import datetime
import functools
import ipaddress
import json
import re
import uuid
from typing import Any

from nodelab.controlplane.apiextensions.listtype_and_embedded import (
    embedded_resource_causes,
    list_type_causes,
)
from nodelab.controlplane.errors import Cause
from nodelab.controlplane.validation.fields import quote

Schema = dict[str, Any]
_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return _TYPE_NAMES.get(type(value), "string")


def _int_in(bits: int) -> Any:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return lambda v: not isinstance(v, int) or isinstance(v, bool) or low <= v <= high


def _parses(parse: Any) -> Any:
    def check(value: Any) -> bool:
        if not isinstance(value, str):
            return True
        try:
            parse(value)
        except (ValueError, TypeError):
            return False
        return True
    return check


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_DURATION = re.compile(r"^([+-]?(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h|d|w))+$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
                       r"(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_MAC = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$")
FORMATS: dict[str, Any] = {
    "int32": _int_in(32), "int64": _int_in(64),
    "byte": _parses(lambda v: base64.b64decode(v, validate=True)),
    "date": _parses(lambda v: datetime.date.fromisoformat(v) if re.fullmatch(
        r"\d{4}-\d{2}-\d{2}", v) else int("x")),
    "date-time": lambda v: not isinstance(v, str) or bool(_DATE_TIME.match(v)),
    "datetime": lambda v: not isinstance(v, str) or bool(_DATE_TIME.match(v)),
    "duration": lambda v: not isinstance(v, str) or bool(_DURATION.match(v)),
    "ipv4": _parses(ipaddress.IPv4Address), "ipv6": _parses(ipaddress.IPv6Address),
    "cidr": _parses(lambda v: ipaddress.ip_network(v, strict=False)),
    "uuid": _parses(uuid.UUID),
    "hostname": lambda v: not isinstance(v, str) or bool(_HOSTNAME.match(v)),
    "email": lambda v: not isinstance(v, str) or bool(_EMAIL.match(v)),
    "mac": lambda v: not isinstance(v, str) or bool(_MAC.match(v)),
}


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    import re2  # type: ignore[import-untyped]  # noqa: PLC0415 - only a server with patterns

    options = re2.Options()
    options.log_errors = False  # an error is answered, not logged by the C++ library
    return re2.compile(pattern, options=options)


def pattern_error(pattern: Any) -> str:
    """Why `pattern` is not a regular expression RE2 (and Go) accept, or ''."""
    if not isinstance(pattern, str):
        return "must be a string"
    import re2  # noqa: PLC0415

    try:
        _compiled(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        return reason.decode() if isinstance(reason, bytes) else str(reason)
    return ""


def _path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _types_of(schema: Schema) -> list[str]:
    kind = schema.get("type")
    if kind:
        return [kind]
    if schema.get("x-kubernetes-int-or-string") is True:
        return ["integer", "string"]
    return []


def _has_type(value: Any, kind: str) -> bool:
    actual = _json_type(value)
    return actual == kind or (kind == "number" and actual == "integer")


_MISSING: Any = object()  # no correlated old value


def _same(a: Any, b: Any) -> bool:
    """Go's DeepEqual of two unstructured values (1 and 1.0 differ, so do 1 and true)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


class _Checker:
    """The schema's checks of a value; with its correlated old value (an update), a node whose
    value the update left as it was passes whatever it breaks (upstream's
    CRDValidationRatcheting, GA in 1.33: `ratchetingValueValidator` drops the errors of a
    node DeepEqual to its old value). Old values correlate by property and map key, and a
    `map` list's items by their keys; other list items do not. The list-type checks (`listed`)
    are not ratcheted by node: upstream reports them only when the old object had none."""

    def __init__(self) -> None:
        self.causes: list[Cause] = []
        self.listed: list[Cause] = []

    def fail(self, path: str, reason: str, message: str) -> None:
        self.causes.append(Cause(path or "<nil>", reason, message))

    def invalid(self, path: str, value: Any, detail: str) -> None:
        self.fail(path, "FieldValueInvalid",
                  f"Invalid value: {quote(value)}: {path or '<nil>'} in body {detail}")

    def check(self, schema: Any, value: Any, path: str, old: Any = _MISSING) -> None:
        if not isinstance(schema, dict):
            return
        if old is not _MISSING and _same(value, old):
            unchanged = _Checker()
            unchanged.check(schema, value, path)
            self.listed += unchanged.listed
            return
        kinds = _types_of(schema)
        if value is None:
            if kinds and not schema.get("nullable"):
                self.fail(path, "FieldValueTypeInvalid", f'Invalid value: "null": '
                          f'{path or "<nil>"} in body must be of type {kinds[0]}: "null"')
            return
        if kinds and not any(_has_type(value, k) for k in kinds):
            actual = _json_type(value)
            self.fail(path, "FieldValueTypeInvalid", f"Invalid value: {quote(actual)}: "
                      f"{path or '<nil>'} in body must be of type {kinds[0]}: {quote(actual)}")
            return
        fmt = schema.get("format")
        if fmt in FORMATS and not FORMATS[fmt](value):
            self.fail(path, "FieldValueTypeInvalid", f"Invalid value: {quote(value)}: "
                      f"{path or '<nil>'} in body must be of type {fmt}: "
                      f"{json.dumps(str(value))}")
            return
        if "enum" in schema and value not in schema["enum"]:
            values = ", ".join(json.dumps(v) for v in schema["enum"])
            self.fail(path, "FieldValueNotSupported",
                      f"Unsupported value: {quote(value)}: supported values: {values}")
        if isinstance(value, str):
            self._string(schema, value, path)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            self._number(schema, value, path)
        elif isinstance(value, list):
            self._array(schema, value, path, old)
        elif isinstance(value, dict):
            self._object(schema, value, path, old)
        self._combined(schema, value, path, old)

    def _string(self, schema: Schema, value: str, path: str) -> None:
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            self.fail(path, "FieldValueTooLong",
                      f"Too long: may not be more than {schema['maxLength']} bytes")
        if "minLength" in schema and len(value) < schema["minLength"]:
            self.invalid(path, value, f"should be at least {schema['minLength']} chars long")
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and not pattern_error(pattern) and \
                _compiled(pattern).search(value) is None:
            self.invalid(path, value, f"should match '{pattern}'")

    def _number(self, schema: Schema, value: float, path: str) -> None:
        if "minimum" in schema:
            low = schema["minimum"]
            if schema.get("exclusiveMinimum") and value <= low:
                self.invalid(path, value, f"should be greater than {low}")
            elif value < low:
                self.invalid(path, value, f"should be greater than or equal to {low}")
        if "maximum" in schema:
            high = schema["maximum"]
            if schema.get("exclusiveMaximum") and value >= high:
                self.invalid(path, value, f"should be less than {high}")
            elif value > high:
                self.invalid(path, value, f"should be less than or equal to {high}")
        factor = schema.get("multipleOf")
        if factor and (value / factor) != int(value / factor):
            self.invalid(path, value, f"should be a multiple of {factor}")

    def _array(self, schema: Schema, value: list[Any], path: str, old: Any) -> None:
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            self.fail(path, "FieldValueTooMany",
                      f"Too many: {len(value)}: must have at most {schema['maxItems']} items")
        if "minItems" in schema and len(value) < schema["minItems"]:
            self.invalid(path, value, f"should have at least {schema['minItems']} items")
        if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True)
                                              for v in value}) < len(value):
            self.invalid(path, value, "shouldn't contain duplicates")
        self.listed += list_type_causes(schema, value, path)
        olds = _correlated_items(schema, value, old)
        for i, item in enumerate(value):
            self.check(schema.get("items"), item, _path(path, i), olds[i])

    def _object(self, schema: Schema, value: dict[str, Any], path: str, old: Any) -> None:
        if path and schema.get("x-kubernetes-embedded-resource") is True:
            self.causes += embedded_resource_causes(value, path)
        for name in schema.get("required") or []:
            if name not in value:
                self.fail(_path(path, name), "FieldValueRequired", "Required value")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            self.fail(path, "FieldValueTooMany", f"Too many: {len(value)}: must have at "
                      f"most {schema['maxProperties']} items")
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            self.invalid(path, value,
                         f"should have at least {schema['minProperties']} properties")
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        olds = old if isinstance(old, dict) else {}
        for key, child in value.items():
            before = olds.get(key, _MISSING)
            if key in properties:
                self.check(properties[key], child, _path(path, key), before)
            elif isinstance(additional, dict):
                self.check(additional, child, _path(path, key), before)

    def _combined(self, schema: Schema, value: Any, path: str, old: Any) -> None:
        def passes(option: Any) -> bool:
            probe = _Checker()
            probe.check(option, value, path)
            return not probe.causes and not probe.listed

        for option in schema.get("allOf") or []:
            self.check(option, value, path, old)
        if schema.get("anyOf") and not any(passes(o) for o in schema["anyOf"]):
            self.fail(path, "FieldValueInvalid", f"Invalid value: {quote(value)}: "
                      "must validate at least one schema (anyOf)")
        if schema.get("oneOf") and sum(passes(o) for o in schema["oneOf"]) != 1:
            self.fail(path, "FieldValueInvalid", f"Invalid value: {quote(value)}: "
                      "must validate one and only one schema (oneOf)")
        if isinstance(schema.get("not"), dict) and passes(schema["not"]):
            self.fail(path, "FieldValueInvalid", f"Invalid value: {quote(value)}: "
                      "must not validate the schema (not)")


def _correlated_items(schema: Schema, items: list[Any], old: Any) -> list[Any]:
    """The old item of each item: only a `map` list's, by its keys (`CorrelatedObject`)."""
    if schema.get("x-kubernetes-list-type") != "map" or not isinstance(old, list):
        return [_MISSING] * len(items)
    keys = schema.get("x-kubernetes-list-map-keys") or []

    def key(item: Any) -> str:
        return json.dumps([item.get(k) for k in keys] if isinstance(item, dict) else None)

    olds = {key(item): item for item in old}
    return [olds.get(key(item), _MISSING) for item in items]


def check(schema: Schema, obj: Any, old: Any = None) -> list[Cause]:
    """The causes of every way `obj` breaks `schema` (its `metadata`, `apiVersion` and `kind`
    are not checked here: ObjectMeta has its own validation), in the order of their paths;
    on an update (`old`, the stored object) ratcheted as upstream's (`_Checker`), and a list
    type's errors only when `old` had none (upstream's strategy)."""
    root = {**schema, "properties": {k: v for k, v in (schema.get("properties") or {}).items()
                                     if k not in ("apiVersion", "kind", "metadata")}}
    checker = _Checker()
    checker.check(root, obj, "", _MISSING if old is None else old)
    causes = checker.causes
    if old is None:
        causes += checker.listed
    else:
        before = _Checker()
        before.check(root, old, "")
        if not before.listed:
            causes += checker.listed
    return sorted(dict.fromkeys(causes), key=lambda c: c.field)


def check_value(schema: Schema, value: Any, path: str) -> list[Cause]:
    """The causes of `value` (found at `path`) against `schema` (a CRD's default)."""
    checker = _Checker()
    checker.check(schema, value, path)
    return checker.causes + checker.listed
