"""A custom object's list types and embedded resources, as upstream's listtype and objectmeta
validation (table tests through the schema checker, paths from the object's root)."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.apiextensions import schema_checks

pytestmark = pytest.mark.unit

SPEC: dict[str, Any] = {"type": "object", "properties": {
    "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
    "plain": {"type": "array", "items": {"type": "string"}},
    "ports": {"type": "array", "x-kubernetes-list-type": "map",
              "x-kubernetes-list-map-keys": ["port", "protocol"],
              "items": {"type": "object", "properties": {
                  "port": {"type": "integer"},
                  "protocol": {"type": "string", "default": "TCP"}}}},
    "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                 "x-kubernetes-preserve-unknown-fields": True},
}}
SCHEMA: dict[str, Any] = {"type": "object", "properties": {"spec": SPEC}}


@pytest.mark.parametrize(("spec", "expected"), [
    ({"tags": ["a", "b"], "plain": ["x", "x"]}, []),  # no list type: repeats allowed
    ({"tags": ["a", "b", "a", "a"]}, [
        ("spec.tags[2]", "FieldValueDuplicate", 'Duplicate value: "a"'),
        ("spec.tags[3]", "FieldValueDuplicate", 'Duplicate value: "a"')]),
    ({"ports": [{"port": 80}, {"port": 80, "protocol": "UDP"}]}, []),
    # a missing key counts as its default: TCP twice
    ({"ports": [{"port": 80}, {"port": 80, "protocol": "TCP"}]}, [
        ("spec.ports[1]", "FieldValueDuplicate",
         'Duplicate value: {"port":80,"protocol":"TCP"}')]),
    ({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}}, []),
    ({"template": {"metadata": {}}}, [
        ("spec.template.apiVersion", "FieldValueRequired", "Required value: must not be empty"),
        ("spec.template.kind", "FieldValueRequired", "Required value: must not be empty")]),
    ({"template": {"apiVersion": 1, "kind": ""}}, [
        ("spec.template.apiVersion", "FieldValueInvalid", "Invalid value: 1: must be a string"),
        ("spec.template.kind", "FieldValueInvalid", 'Invalid value: "": must not be empty')]),
    ({"template": {"apiVersion": "apps/v1", "kind": "Not_A_Kind"}}, [
        ("spec.template.kind", "FieldValueInvalid", 'Invalid value: "Not_A_Kind": may have '
         "mixed case, but should otherwise match: a DNS-1035 label must consist of lower case "
         "alphanumeric characters or '-', start with an alphabetic character, and end with an "
         "alphanumeric character"
         " (e.g. 'my-name',  or 'abc-123',"
         " regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")]),
])
def test_list_types_and_embedded_resources(spec: dict[str, Any],
                                           expected: list[tuple[str, str, str]]) -> None:
    causes = schema_checks.check(SCHEMA, {"apiVersion": "x/v1", "kind": "X", "spec": spec})
    assert [(c.field, c.reason, c.message) for c in causes] == expected
