"""A custom object against its version's schema: validation with upstream's causes, pruning
of unknown fields, defaults (table tests)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from nodelab.controlplane.apiextensions import pruning, schema_checks

pytestmark = pytest.mark.unit

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["cronSpec"],
            "properties": {
                "cronSpec": {"type": "string",
                             "pattern": r"^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$"},
                "image": {"type": "string", "maxLength": 20},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
                "mode": {"type": "string", "enum": ["Fast", "Slow"]},
                "ratio": {"type": "number", "exclusiveMinimum": True, "minimum": 0},
                "port": {"x-kubernetes-int-or-string": True},
                "target": {"anyOf": [{"type": "integer"}, {"type": "string"}],
                           "x-kubernetes-int-or-string": True},
                "started": {"type": "string", "format": "date-time"},
                "size": {"type": "integer", "format": "int32"},
                "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
                "note": {"type": "string", "nullable": True},
                "word": {"type": "string", "pattern": "^(a+)+$"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "properties": {"spec": {"type": "object", "properties": {
                                 "x": {"type": "string"}}}}},
                "policy": {"type": "object", "default": {}, "properties": {
                    "retries": {"type": "integer", "default": 3}}},
            },
        },
        "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
    },
}
GOOD = {"spec": {"cronSpec": "* * * * */5"}}


def _with(**spec: Any) -> dict[str, Any]:
    obj = copy.deepcopy(GOOD)
    obj["spec"].update(spec)
    return obj


CASES = [
    ("valid", GOOD, []),
    ("wrong type", _with(replicas="x"),
     [("spec.replicas", "FieldValueTypeInvalid", 'Invalid value: "string": spec.replicas in '
       'body must be of type integer: "string"')]),
    ("required", {"spec": {}}, [("spec.cronSpec", "FieldValueRequired", "Required value")]),
    ("pattern", _with(cronSpec="every minute"),
     [("spec.cronSpec", "FieldValueInvalid", 'Invalid value: "every minute": spec.cronSpec in '
       "body should match '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'")]),
    ("minimum", _with(replicas=0),
     [("spec.replicas", "FieldValueInvalid", "Invalid value: 0: spec.replicas in body should "
       "be greater than or equal to 1")]),
    ("maximum", _with(replicas=11),
     [("spec.replicas", "FieldValueInvalid", "Invalid value: 11: spec.replicas in body should "
       "be less than or equal to 10")]),
    ("exclusive minimum", _with(ratio=0),
     [("spec.ratio", "FieldValueInvalid", "Invalid value: 0: spec.ratio in body should be "
       "greater than 0")]),
    ("enum", _with(mode="Medium"),
     [("spec.mode", "FieldValueNotSupported", 'Unsupported value: "Medium": supported values: '
       '"Fast", "Slow"')]),
    ("maxLength", _with(image="x" * 21),
     [("spec.image", "FieldValueTooLong", "Too long: may not be more than 20 bytes")]),
    ("maxItems", _with(tags=["a", "b", "c"]),
     [("spec.tags", "FieldValueTooMany", "Too many: 3: must have at most 2 items")]),
    ("an item's type", _with(tags=["a", 2]),
     [("spec.tags[1]", "FieldValueTypeInvalid", 'Invalid value: "integer": spec.tags[1] in '
       'body must be of type string: "integer"')]),
    ("format date-time", _with(started="yesterday"),
     [("spec.started", "FieldValueTypeInvalid", 'Invalid value: "yesterday": spec.started in '
       'body must be of type date-time: "yesterday"')]),
    ("format int32", _with(size=2 ** 31),
     [("spec.size", "FieldValueTypeInvalid", "Invalid value: 2147483648: spec.size in body "
       'must be of type int32: "2147483648"')]),
    ("a pattern that backtracks in Perl's regexps answers at once", _with(
        word="a" * 5000 + "b"),
     [("spec.word", "FieldValueInvalid", 'Invalid value: "' + "a" * 5000 + 'b": spec.word in '
       "body should match '^(a+)+$'")]),
    ("int-or-string takes both", _with(port="http"), []),
    ("int-or-string with anyOf", _with(target=8080), []),
    ("int-or-string with anyOf, a list", _with(target=[1]),
     [("spec.target", "FieldValueTypeInvalid", 'Invalid value: "array": spec.target in body '
       'must be of type integer: "array"')]),
    ("int-or-string nothing else", _with(port=[1]),
     [("spec.port", "FieldValueTypeInvalid", 'Invalid value: "array": spec.port in body must '
       'be of type integer: "array"')]),
    ("nullable", _with(note=None), []),
    ("not nullable", _with(mode=None),
     [("spec.mode", "FieldValueTypeInvalid", 'Invalid value: "null": spec.mode in body must '
       'be of type string: "null"')]),
    ("map values", _with(labels={"a": 1}),
     [("spec.labels.a", "FieldValueTypeInvalid", 'Invalid value: "integer": spec.labels.a in '
       'body must be of type string: "integer"')]),
    ("every error at once", {"spec": {"replicas": 0, "mode": "x"}},
     [("spec.cronSpec", "FieldValueRequired", "Required value"),
      ("spec.mode", "FieldValueNotSupported", 'Unsupported value: "x": supported values: '
       '"Fast", "Slow"'),
      ("spec.replicas", "FieldValueInvalid", "Invalid value: 0: spec.replicas in body should "
       "be greater than or equal to 1")]),
]


@pytest.mark.parametrize(("obj", "expected"), [(c[1], c[2]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_validation(obj: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    found = [(c.field, c.reason, c.message) for c in schema_checks.check(SCHEMA, obj)]
    assert found == expected


PRUNE_CASES = [
    ("known fields stay", {"apiVersion": "a/v1", "kind": "K", "metadata": {"name": "n"},
                           **GOOD}, [], None),
    ("unknown fields go", _with(colour="red"), ["spec.colour"], GOOD),
    ("unknown root fields go", {**GOOD, "extra": 1}, ["extra"], GOOD),
    ("metadata keeps ObjectMeta's fields", {"metadata": {"name": "n", "bogus": 1}, **GOOD},
     ["metadata.bogus"], {"metadata": {"name": "n"}, **GOOD}),
    ("preserved", _with(free={"anything": {"goes": [1]}}), [], None),
    ("map values are not unknown", _with(labels={"a": "b"}), [], None),
    ("embedded resource keeps apiVersion, kind, metadata",
     _with(template={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                     "spec": {"x": "1", "y": 2}}),
     ["spec.template.spec.y"], _with(template={"apiVersion": "v1", "kind": "Pod",
                                              "metadata": {"name": "p"}, "spec": {"x": "1"}})),
    ("inside lists", {"spec": {"cronSpec": "x", "tags": ["a"]}, "status": {"replicas": 1,
                                                                           "ready": 1}},
     ["status.ready"], {"spec": {"cronSpec": "x", "tags": ["a"]}, "status": {"replicas": 1}}),
]


@pytest.mark.parametrize(("obj", "dropped", "after"), [(c[1], c[2], c[3]) for c in PRUNE_CASES],
                         ids=[c[0] for c in PRUNE_CASES])
def test_pruning(obj: dict[str, Any], dropped: list[str], after: dict[str, Any] | None) -> None:
    pruned = copy.deepcopy(obj)
    assert pruning.prune(SCHEMA, pruned) == dropped
    assert pruned == (obj if after is None else after)


DEFAULT_CASES = [
    ("missing fields get defaults, nested too", GOOD,
     _with(replicas=1, policy={"retries": 3})),
    ("a value set stays", _with(replicas=5, policy={"retries": 0}),
     _with(replicas=5, policy={"retries": 0})),
    ("null where null is not allowed", _with(replicas=None), _with(replicas=1,
                                                                    policy={"retries": 3})),
    ("no spec: nothing below it", {}, {}),
]


@pytest.mark.parametrize(("obj", "after"), [(c[1], c[2]) for c in DEFAULT_CASES],
                         ids=[c[0] for c in DEFAULT_CASES])
def test_defaulting(obj: dict[str, Any], after: dict[str, Any]) -> None:
    defaulted = copy.deepcopy(obj)
    pruning.apply_defaults(SCHEMA, defaulted)
    assert defaulted == after
