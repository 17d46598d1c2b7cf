"""A custom object against the `x-kubernetes-validations` of its schema (upstream's
`schema/cel/validation.go` Validator), run after the schema checks.

Each node with rules is evaluated with `self` (and `oldSelf` on an update when the node has an
old value to compare: the same property of an object, the same key of a granular map, the item
of a `map` list with the same keys; a rule with `oldSelf` is skipped otherwise, unless
`optionalOldSelf`, which sees `optional.none()`). A null value is not evaluated. A rule that is
false is one cause at the node (or at its `fieldPath`), by its `reason`, with the value for a
scalar and none for an object or array (as Kubernetes 1.37 writes them):

    FieldValueInvalid (default)  spec: Invalid value: <message>
                                 spec.name: Invalid value: "UPPER": <message>
    FieldValueForbidden          spec: Forbidden: <message>
    FieldValueRequired           spec: Required value: <message>
    FieldValueDuplicate          spec: Duplicate value      spec.name: Duplicate value: "x"

where the message is `messageExpression`'s string, else `message`, else `failed rule:
<rule>`. An evaluation error is `Invalid value: "object": no such key: x evaluating rule:
<rule>`; a rule past cel-cpp's iteration budget stops all further rules of the object with
upstream's cost-limit text, and so does a request whose rules together ran past
`TIME_BUDGET` seconds, so neither a hostile rule nor a hostile object holds the server.

Ratcheting (upstream's CRDValidationRatcheting, on since 1.30, GA in 1.33): on an update, a
rule without `oldSelf` that is false on a value the update did not change (compared with its
correlated old value, else with its nearest correlatable ancestor's) is a warning, not an
error, so adding a rule to a CRD does not lock existing objects whose other fields change.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from nodelab.controlplane.apiextensions.cel import environment, rules
from nodelab.controlplane.apiextensions.cel.decltypes import runtime_value
from nodelab.controlplane.errors import Cause
from nodelab.controlplane.validation.fields import quote

TIME_BUDGET = 2.0
COST_EXCEEDED = "operation cancelled: actual cost limit exceeded"
OUT_OF_BUDGET = ("validation failed due to running out of cost budget, no further "
                 "validation rules will be run")
MAX_MESSAGE = 5 * 1024


class _Stop(Exception):
    pass


def has_rules(schema: Any) -> bool:
    return "x-kubernetes-validations" in json.dumps(schema) if isinstance(schema, dict) else False


def validate(schema: dict[str, Any], obj: Any, old: Any,
             warnings: list[str] | None = None) -> list[Cause]:
    """The causes of `obj` (and `old`, the stored object on an update) breaking the rules;
    ratcheted failures (a rule without `oldSelf` false on a value the update did not change)
    are added to `warnings` instead, as upstream's CRDValidationRatcheting (GA in 1.33)."""
    if not has_rules(schema):
        return []
    walker = _Walker(time.monotonic() + TIME_BUDGET)
    with contextlib.suppress(_Stop):
        walker.node(schema, obj, old, "", True, old is not None and obj == old)
    if warnings is not None:
        warnings.extend(walker.warnings)
    return walker.causes


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Walker:
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.causes: list[Cause] = []
        self.warnings: list[str] = []
        self._compiled: dict[int, tuple[rules.Compiled, ...]] = {}  # by schema node, per walk

    def node(self, schema: Any, value: Any, old: Any, path: str, root: bool,
             unchanged: bool) -> None:
        """`unchanged`: the value (or, when it has no old value to correlate with, its nearest
        correlatable ancestor) is as it was, so its failures are ratcheted."""
        if not isinstance(schema, dict) or value is None:
            return
        if schema.get("x-kubernetes-validations"):
            self.evaluate(schema, value, old, path, root, unchanged)
        if isinstance(value, dict):
            old_map = old if isinstance(old, dict) else {}  # atomic maps correlate too
            additional = schema.get("additionalProperties")
            properties = schema.get("properties") or {}
            for key, item in value.items():
                before = old_map.get(key)
                same = item == before if before is not None else unchanged
                if isinstance(additional, dict):
                    self.node(additional, item, before, f"{path}[{key}]",
                              additional.get("x-kubernetes-embedded-resource") is True, same)
                elif key in properties:
                    prop = properties[key]
                    self.node(prop, item, before, _child(path, key),
                              isinstance(prop, dict) and prop.get(
                                  "x-kubernetes-embedded-resource") is True, same)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            items = schema["items"]
            olds = _correlated(schema, value, old)
            for i, item in enumerate(value):
                same = item == olds[i] if olds[i] is not None else unchanged
                self.node(items, item, olds[i], f"{path}[{i}]",
                          items.get("x-kubernetes-embedded-resource") is True, same)

    def evaluate(self, schema: dict[str, Any], value: Any, old: Any, path: str,
                 root: bool, unchanged: bool) -> None:
        where = path or "<nil>"
        kind = str(schema.get("type") or "")
        if id(schema) not in self._compiled:  # the schema outlives the walk: ids are stable
            node = {k: v for k, v in schema.items() if k != "default"}
            self._compiled[id(schema)] = rules.compiled(json.dumps(node, sort_keys=True))
        for compiled in self._compiled[id(schema)]:
            if compiled.uses_old_self and old is None and not compiled.optional_old_self:
                continue
            if time.monotonic() > self.deadline:
                self.causes.append(Cause(where, "FieldValueInvalid",
                                         f"Invalid value: {quote(kind)}: {OUT_OF_BUDGET}"))
                raise _Stop
            data = {"self": runtime_value(schema, value, root),
                    "oldSelf": runtime_value(schema, old, root),
                    environment.OPTIONAL_OLD: runtime_value(schema, old, root),
                    environment.OPTIONAL_HAS_OLD: old is not None}
            label = rules.rule_label(compiled.rule)
            if compiled.program is None:
                self.causes.append(Cause(where, "FieldValueInvalid", (
                    f"Invalid value: {quote(kind)}: rule compile error: {compiled.error}")))
                continue
            try:
                result = compiled.program.eval(data=data)
            except RuntimeError as exc:
                if "Iteration budget exceeded" not in str(exc):
                    raise
                self.causes.append(Cause(where, "FieldValueInvalid", (
                    f"Invalid value: {quote(kind)}: '{COST_EXCEEDED}': no further validation "
                    f"rules will be run due to call cost exceeds limit for rule: {label}")))
                raise _Stop from exc
            answer = result.value()
            if result.type().name() in ("ERROR", "error"):
                self.causes.append(Cause(where, "FieldValueInvalid", (
                    f"Invalid value: {quote(kind)}: {_runtime_error(str(answer), label)}")))
                continue
            if answer is True:
                continue
            at = _child(path, compiled.field_path) if compiled.field_path else where
            detail = self.message(compiled, data) or rules.default_message(compiled.rule)
            cause = _cause(at, value, detail, compiled.rule.get("reason"))
            if unchanged and not compiled.uses_old_self:
                self.warnings.append(f"{cause.field}: {cause.message}")
            else:
                self.causes.append(cause)

    def message(self, compiled: rules.Compiled, data: dict[str, Any]) -> str:
        if compiled.message_program is None:
            return ""
        try:
            result = compiled.message_program.eval(data=data)
        except RuntimeError:
            return ""
        text = result.value()
        if not isinstance(text, str):
            return ""
        text = text.strip()
        if not text or "\n" in text or len(text) > MAX_MESSAGE:
            return ""
        return text


def _correlated(schema: dict[str, Any], items: list[Any], old: Any) -> list[Any]:
    """The old item of each item: only a `map` list's items correlate (by their keys)."""
    if schema.get("x-kubernetes-list-type") != "map" or not isinstance(old, list):
        return [None] * len(items)
    keys = schema.get("x-kubernetes-list-map-keys") or []

    def key(item: Any) -> str:
        return json.dumps([item.get(k) for k in keys] if isinstance(item, dict) else None)

    olds = {key(item): item for item in old}
    return [olds.get(key(item)) for item in items]


def _runtime_error(text: str, label: str) -> str:
    """An evaluation error as upstream words it (cel-cpp's texts in cel-go's words; at most
    `MAX_MESSAGE` bytes of it, as a hostile value could be echoed in it)."""
    text = rules.strip_status(text)[:MAX_MESSAGE]
    if text.startswith("No matching overloads found"):
        return ("'no such overload': call arguments did not match a supported operator, "
                f"function or macro signature for rule: {label}")
    if text.startswith("Key not found in map : "):
        text = "no such key: " + text.removeprefix("Key not found in map : ").strip('"')
    elif text == "divide by zero":
        text = "division by zero"
    return f"{text} evaluating rule: {label}"


def _cause(path: str, value: Any, detail: str, reason: Any) -> Cause:
    """A false rule's error (`fieldErrorForReason`): the value itself for a scalar, none
    for an object or array (upstream's `field.OmitValueType`), decided by the value, as an
    int-or-string or preserve-unknown-fields node may hold either."""
    shown = "" if isinstance(value, (dict, list)) else f": {quote(value)}"
    if reason == "FieldValueForbidden":
        return Cause(path, reason, f"Forbidden: {detail}")
    if reason == "FieldValueRequired":
        return Cause(path, reason, f"Required value: {detail}")
    if reason == "FieldValueDuplicate":
        return Cause(path, reason, f"Duplicate value{shown}")
    return Cause(path, "FieldValueInvalid", f"Invalid value{shown}: {detail}")
