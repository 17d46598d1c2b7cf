"""Validation of a custom object against its version's `openAPIV3Schema`, with upstream's
field paths and texts (kube-openapi's validator as apiextensions-apiserver maps its results to
field errors in `apiserver/validation/validation.go`).

The checking itself is the `jsonschema` library's (Draft 4, whose boolean
`exclusiveMinimum`/`exclusiveMaximum` are OpenAPI 3.0's), on the schema with OpenAPI's own
words translated: `nullable: true` allows `null`, `x-kubernetes-int-or-string` allows an
integer or a string. Each error becomes one cause:

    type       spec.replicas: Invalid value: "string": spec.replicas in body must be of type
               integer: "string"                                  (FieldValueTypeInvalid)
    required   spec.cronSpec: Required value                      (FieldValueRequired)
    enum       spec.mode: Unsupported value: "x": supported values: "a", "b"
    maxLength  spec.name: Too long: may not be more than 10 bytes (FieldValueTooLong)
    maxItems   spec.items: Too many: 4: must have at most 3 items (FieldValueTooMany)
    others     spec.replicas: Invalid value: 0: spec.replicas in body should be greater than
               or equal to 1                                      (FieldValueInvalid)

Formats are upstream's (int32, int64, byte, date, date-time, ...); a format upstream does not
know is not checked, as upstream. `jsonschema` is imported on first use: its import costs
about a second, paid only by a server that validates custom objects.
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


def translate(schema: Any) -> Any:
    """The schema in JSON Schema's words (nullable, int-or-string), extensions left out."""
    if isinstance(schema, list):
        return [translate(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: Schema = {}
    for key, value in schema.items():
        if key.startswith("x-kubernetes-") or key in ("nullable", "default", "example",
                                                       "externalDocs", "description"):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: translate(child) for name, child in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[key] = translate(value)
        else:
            out[key] = value
    if schema.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if schema.get("x-kubernetes-int-or-string") is True and "type" not in out \
            and "anyOf" not in out and "oneOf" not in out:
        out["type"] = ["integer", "string"]
    return out


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


@functools.lru_cache(maxsize=64)
def _validator(schema_json: str) -> Any:
    import jsonschema  # type: ignore[import-untyped]  # about a second: only when needed

    checker = jsonschema.FormatChecker(formats=())
    for name, check in FORMATS.items():
        checker.checks(name)(check)
    return jsonschema.Draft4Validator(json.loads(schema_json), format_checker=checker)


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _cause(error: Any) -> list[Cause]:
    path = _path(error.absolute_path)
    where = path or "<nil>"
    keyword, expected, value = error.validator, error.validator_value, error.instance
    body = f"{where} in body"
    if keyword == "required":
        missing = [name for name in expected if isinstance(value, dict) and name not in value]
        return [Cause(f"{path}.{m}" if path else m, "FieldValueRequired", "Required value")
                for m in missing]
    if keyword == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        wanted = next((k for k in kinds if k != "null"), kinds[0])
        actual = _json_type(value)
        return [Cause(where, "FieldValueTypeInvalid", f"Invalid value: {quote(actual)}: "
                      f"{body} must be of type {wanted}: {quote(actual)}")]
    if keyword == "format":
        return [Cause(where, "FieldValueTypeInvalid", f"Invalid value: {quote(value)}: "
                      f"{body} must be of type {expected}: {json.dumps(str(value))}")]
    if keyword == "enum":
        values = ", ".join(json.dumps(v) for v in expected if v is not None)
        return [Cause(where, "FieldValueNotSupported",
                      f"Unsupported value: {quote(value)}: supported values: {values}")]
    if keyword == "maxLength":
        return [Cause(where, "FieldValueTooLong",
                      f"Too long: may not be more than {expected} bytes")]
    if keyword in ("maxItems", "maxProperties"):
        return [Cause(where, "FieldValueTooMany",
                      f"Too many: {len(value)}: must have at most {expected} items")]
    schema = error.schema
    details = {
        "minimum": f"should be greater than {'' if schema.get('exclusiveMinimum') else 'or '}"
                   f"{'' if schema.get('exclusiveMinimum') else 'equal to '}{expected}",
        "maximum": f"should be less than {'' if schema.get('exclusiveMaximum') else 'or '}"
                   f"{'' if schema.get('exclusiveMaximum') else 'equal to '}{expected}",
        "multipleOf": f"should be a multiple of {expected}",
        "minLength": f"should be at least {expected} chars long",
        "pattern": f"should match '{expected}'",
        "minItems": f"should have at least {expected} items",
        "minProperties": f"should have at least {expected} properties",
        "uniqueItems": "shouldn't contain duplicates",
    }
    if keyword in details:
        return [Cause(where, "FieldValueInvalid",
                      f"Invalid value: {quote(value)}: {body} {details[keyword]}")]
    generic = {"oneOf": "must validate one and only one schema (oneOf)",
               "anyOf": "must validate at least one schema (anyOf)",
               "not": "must not validate the schema (not)",
               "allOf": "must validate all the schemas (allOf)"}
    return [Cause(where, "FieldValueInvalid", f"Invalid value: {quote(value)}: "
                  + generic.get(keyword, f"{body} {error.message}"))]


def check(schema: Schema, obj: Any) -> list[Cause]:
    """The causes of every way `obj` breaks `schema` (its `metadata` is not checked here:
    ObjectMeta has its own validation), in the order of their paths."""
    translated = translate(schema)
    properties = dict(translated.get("properties") or {})
    for key in ("apiVersion", "kind", "metadata"):
        properties.pop(key, None)
    translated["properties"] = properties
    validator = _validator(json.dumps(translated, sort_keys=True))
    causes: list[Cause] = []
    for error in validator.iter_errors(obj):
        causes.extend(_cause(error))
    # a value of the wrong type is reported as that alone (its other checks do not apply)
    mistyped = {c.field for c in causes if c.reason == "FieldValueTypeInvalid"}
    causes = [c for c in causes if c.field not in mistyped or c.reason ==
              "FieldValueTypeInvalid"]
    return sorted(dict.fromkeys(causes), key=lambda c: c.field)
