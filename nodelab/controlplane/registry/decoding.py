"""Decoding a request body against upstream's schema: unknown fields and wrong JSON types.

kube-apiserver decodes JSON into Go structs with a strict decoder. Two kinds of mistakes
come out of that, and they are handled differently, as upstream does:

- **unknown fields** (`spec.containers[0].imagePullPolcy`): the Go struct has nowhere to put
  them, so they are dropped; `fieldValidation` decides what the client hears: `Strict` is a
  400 naming every one (`strict decoding error: unknown field "spec.foo"`), `Warn` (the
  default) a `Warning` header per field, `Ignore` nothing. Inside free-form JSON
  (`x-kubernetes-preserve-unknown-fields`, RawExtension) nothing is unknown.
- **wrong JSON types** (a list where an object belongs, a string where an int32 belongs):
  the decoder fails whatever `fieldValidation` says, with Go's error text, and the request is
  a 400: `Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal array into
  Go struct field PodSpec.spec.containers of type []v1.Container`.

Both are found in one walk over the body (`check`), which also drops the unknown fields and
the fields set to `null` (Go decodes them as zero values, which are omitted when encoded).
`decode` is the whole step for a write's body: its kind and apiVersion, then `check`, then
`fieldValidation`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from nodelab.controlplane import errors
from nodelab.controlplane.apiextensions import custom_objects
from nodelab.controlplane.resources import ResourceType
from nodelab.kube.objects import Object
from nodelab.kube.schema import Node


@dataclass
class Findings:
    unknown: list[str] = field(default_factory=list)  # paths, as upstream prints them
    type_error: str = ""  # Go's first decoding error, if any


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "string"


def _fits(node: Node, value: Any) -> str:
    """'' when `value` decodes into `node`'s Go type, else the JSON type Go complains about."""
    types = node.types - {"null"}
    if value is None or not types:
        return ""
    kind = _json_type(value)
    if kind == "object":
        return "" if "object" in types else kind
    if kind == "array":
        return "" if "array" in types else kind
    if kind == "bool":
        return "" if "boolean" in types else kind
    if kind == "string":
        return "" if "string" in types else kind
    if "number" in types:
        return ""
    if "integer" in types:
        return "" if isinstance(value, int) or float(value).is_integer() else f"number {value}"
    return kind


def check(node: Node, value: Any) -> Findings:
    """Walk `value` (a decoded body) against `node`, dropping unknown fields in place."""
    findings = Findings()
    _walk(node, value, "", "", node.name.rsplit(".", 1)[-1], findings)
    return findings


def _walk(node: Node, value: Any, path: str, go_path: str, struct: str,
          findings: Findings) -> None:
    if findings.type_error:
        return
    wrong = _fits(node, value)
    if wrong:
        findings.type_error = (f"json: cannot unmarshal {wrong} into Go struct field "
                               f"{struct}.{go_path} of type {node.go_type}")
        return
    if isinstance(value, dict):
        if node.is_struct:
            inner = node.name.rsplit(".", 1)[-1] if node.name else struct
            for key in list(value):
                if value[key] is None:  # Go decodes null as the zero value: omitted
                    del value[key]
                    continue
                child = node.field(key)
                child_path = f"{path}.{key}" if path else key
                if child is None:
                    if not node.preserves_unknown:
                        findings.unknown.append(child_path)
                        del value[key]
                    continue
                _walk(child, value[key], child_path,
                      f"{go_path}.{key}" if go_path else key, inner, findings)
        elif node.values is not None:
            for key, item in value.items():
                _walk(node.values, item, f"{path}[{key}]", go_path, struct, findings)
    elif isinstance(value, list) and node.items is not None:
        for i, item in enumerate(value):
            _walk(node.items, item, f"{path}[{i}]", go_path, struct, findings)


def decode(rt: ResourceType, body: Object, query: dict[str, str]) -> tuple[Object, list[str]]:
    """The request body `body` checked as `rt`: its kind and apiVersion, its JSON types (a 400
    with Go's error), its unknown fields dropped and reported as `fieldValidation` asks
    (`Strict`: a 400; `Warn`, the default: warnings; `Ignore`: nothing). Returns a copy in its
    wire form, and the warnings."""
    if not isinstance(body, dict):
        raise errors.bad_request("the request body must be a JSON object")
    kind, version = body.get("kind"), body.get("apiVersion")
    if kind and kind != rt.kind:
        raise errors.bad_request(
            f"the kind of the object ({kind}) does not match the resource ({rt.kind})")
    if version and version != rt.group_version:
        raise errors.bad_request(f"the API version in the data ({version}) does not match "
                                 f"the expected API version ({rt.group_version})")
    body = copy.deepcopy(body)
    body["apiVersion"], body["kind"] = rt.group_version, rt.kind
    if rt.custom is not None:
        findings = Findings(unknown=custom_objects.decode(rt, body))
    else:
        findings = check(rt.schema, body)
    if findings.type_error:
        raise errors.bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled '
                                 f"as a {rt.kind}: {findings.type_error}")
    mode = query.get("fieldValidation") or "Warn"  # empty is the default too
    if mode not in ("Strict", "Warn", "Ignore"):
        raise errors.bad_request(f'fieldValidation: Unsupported value: "{mode}": supported '
                                 'values: "Ignore", "Strict", "Warn"')
    warnings = [f'unknown field "{path}"' for path in findings.unknown]
    if warnings and mode == "Strict":
        raise errors.bad_request("strict decoding error: " + ", ".join(warnings))
    if mode == "Ignore":
        warnings = []
    return body, warnings
