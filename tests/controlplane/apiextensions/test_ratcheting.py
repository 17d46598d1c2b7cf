"""Ratcheting of a custom object's schema checks on update (upstream's
CRDValidationRatcheting, GA in 1.33): a value the update leaves as it was passes what it
breaks. Cases from upstream's pkg/apiserver/validation/ratcheting_test.go, then the
correlation of maps, `map` lists and other lists, and the list types' own rule."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.apiextensions import schema_checks

pytestmark = pytest.mark.unit

ZERO = {"type": "number", "minimum": 0, "maximum": 0}
SMALL = {"type": "number", "maximum": 50}
MEDIUM = {"type": "number", "minimum": 50, "maximum": 10000}
LARGE = {"type": "number", "minimum": 10000}
OBJECT = {"type": "object", "properties": {"zero": ZERO, "small": SMALL, "medium": MEDIUM,
                                           "large": LARGE}}
NESTED = {"type": "object", "properties": {"nested": OBJECT}}
INT32 = {"type": "object", "properties": {"intThirtyTwo": {"type": "integer",
                                                           "format": "int32"},
                                          "unrelated": {"type": "string"}}}
ITEMS = {"type": "object", "properties": {
    "map": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}},
    "byName": {"type": "array", "x-kubernetes-list-type": "map",
               "x-kubernetes-list-map-keys": ["name"],
               "items": {"type": "object", "required": ["name"], "properties": {
                   "name": {"type": "string"}, "port": {"type": "integer", "maximum": 10}}}},
    "atomic": {"type": "array", "items": {"type": "string", "maxLength": 3}},
    "set": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}}}
BIG = 2**31


def valid(schema: dict[str, Any], new: Any, old: Any) -> bool:
    return schema_checks.check({"type": "object", "properties": {"v": schema}},
                               {"v": new}, {"v": old}) == []


@pytest.mark.parametrize(("schema", "new", "old", "passes"), [
    # TestScalarRatcheting (a bare value, here under one property)
    (MEDIUM, 1, 1, True), (MEDIUM, 1, 2, False),
    # TestObjectScalarFieldsRatcheting
    (OBJECT, {"small": 500}, {"small": 500}, True),
    (OBJECT, {"small": 501}, {"small": 501, "medium": 500}, True),
    (OBJECT, {"small": 500}, {"small": 501}, False),
    # TestObjectObjectFieldsRatcheting
    (NESTED, {"nested": {"small": 500}}, {"nested": {"small": 500}}, True),
    (NESTED, {"nested": {"small": 501}}, {"nested": {"small": 501, "medium": 500}}, True),
    (NESTED, {"nested": {"small": 500}}, {"nested": {"small": 501}}, False),
    # TestNumericFormatRatcheting
    (INT32, {"intThirtyTwo": BIG}, {"intThirtyTwo": BIG}, True),
    (INT32, {"intThirtyTwo": BIG, "unrelated": "changed"},
     {"intThirtyTwo": BIG, "unrelated": "original"}, True),
    (INT32, {"intThirtyTwo": BIG + 1}, {"intThirtyTwo": BIG}, False),
    # Go's DeepEqual: 1 and 1.0 differ
    (OBJECT, {"zero": 1.0}, {"zero": 1}, False),
])
def test_upstreams_ratcheting_cases(schema: dict[str, Any], new: Any, old: Any,
                                    passes: bool) -> None:
    assert valid(schema, new, old) is passes


@pytest.mark.parametrize(("new", "old", "fields"), [
    # a map correlates by key
    ({"map": {"a": "long", "b": "ok"}}, {"map": {"a": "long"}}, []),
    ({"map": {"a": "longer"}}, {"map": {"a": "long"}}, ["map.a"]),
    # a map list correlates by its keys, wherever the item moved
    ({"byName": [{"name": "y", "port": 1}, {"name": "x", "port": 99}]},
     {"byName": [{"name": "x", "port": 99}]}, []),
    ({"byName": [{"name": "x", "port": 98}]}, {"byName": [{"name": "x", "port": 99}]},
     ["byName[0].port"]),
    # an atomic list's items do not correlate: a changed list is checked whole
    ({"atomic": ["long", "ok"]}, {"atomic": ["long"]}, ["atomic[0]"]),
    ({"atomic": ["long"]}, {"atomic": ["long"]}, []),
])
def test_correlation(new: dict[str, Any], old: dict[str, Any], fields: list[str]) -> None:
    causes = schema_checks.check(ITEMS, new, old)
    assert [c.field for c in causes] == fields


def test_a_list_types_errors_only_when_the_old_object_had_none() -> None:
    """Upstream's strategy: ValidateListSetsAndMaps of the new object only when the old one
    passes it."""
    duplicated = {"set": ["a", "a"]}
    assert [c.reason for c in schema_checks.check(ITEMS, duplicated, {"set": ["a"]})] == [
        "FieldValueDuplicate"]
    assert schema_checks.check(ITEMS, {"set": ["a", "a", "b"]}, duplicated) == []
    assert [c.reason for c in schema_checks.check(ITEMS, duplicated)] == ["FieldValueDuplicate"]
