"""A CustomResourceDefinition's validation and defaulting, as upstream's apiextensions
validation: each case a CRD and the (field, message) causes it gets."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from nodelab.controlplane.apiextensions import definitions
from tests.controlplane.apiextensions.crontab import CRONTAB_CRD, crontab_crd

pytestmark = pytest.mark.unit


def _version(**changes: Any) -> dict[str, Any]:
    version: dict[str, Any] = copy.deepcopy(CRONTAB_CRD["spec"]["versions"][0])
    version.update(changes)
    return version


def _schema(schema: dict[str, Any]) -> dict[str, Any]:
    return crontab_crd(versions=[_version(schema={"openAPIV3Schema": schema})])


def _causes(crd: dict[str, Any], old: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    definitions.apply_defaults(crd)
    return [(c.field, c.message) for c in definitions.validate(crd, old).causes]


def test_the_docs_crontab_is_valid_and_defaulted() -> None:
    crd = copy.deepcopy(CRONTAB_CRD)
    assert _causes(crd) == []
    assert crd["spec"]["names"]["listKind"] == "CronTabList"
    assert crd["spec"]["conversion"] == {"strategy": "None"}


CASES = [
    ("name not plural.group", {**CRONTAB_CRD, "metadata": {"name": "crontab.stable.example.com"}},
     [("metadata.name", 'Invalid value: "crontab.stable.example.com": must be '
       'spec.names.plural+"."+spec.group')]),
    ("group without a dot", crontab_crd(group="example"),
     [("metadata.name", 'Invalid value: "crontabs.stable.example.com": must be '
       'spec.names.plural+"."+spec.group'),
      ("spec.group", 'Invalid value: "example": should be a domain with at least one dot')]),
    ("scope missing", crontab_crd(scope=""), [("spec.scope", "Required value")]),
    ("scope unknown", crontab_crd(scope="Global"),
     [("spec.scope", 'Unsupported value: "Global": supported values: "Cluster", '
       '"Namespaced"')]),
    ("two storage versions", crontab_crd(versions=[_version(), _version(name="v2")]),
     [("spec.versions", "must have exactly one version marked as storage version")]),
    ("no storage version", crontab_crd(versions=[_version(storage=False)]),
     [("spec.versions", "must have exactly one version marked as storage version")]),
    ("same version twice", crontab_crd(versions=[_version(), _version(storage=False)]),
     [("spec.versions", "must contain unique version names")]),
    ("no schema", crontab_crd(versions=[_version(schema=None)]),
     [("spec.versions[0].schema.openAPIV3Schema", "Required value: schemas are required")]),
    ("kind missing", crontab_crd(names={"plural": "crontabs", "singular": "crontab"}),
     [("spec.names.kind", "Required value"), ("spec.names.listKind", "Required value")]),
    ("bad short name", crontab_crd(names={"plural": "crontabs", "kind": "CronTab",
                                          "shortNames": ["C_T"]}),
     [("spec.names.shortNames[0]", 'Invalid value: "C_T": a DNS-1035 label must consist of '
       "lower case alphanumeric characters or '-', start with an alphabetic character, and end "
       "with an alphanumeric character"
       " (e.g. 'my-name',  or 'abc-123',"
       " regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")]),
    ("kind equals listKind", crontab_crd(names={"plural": "crontabs", "kind": "CronTab",
                                                "listKind": "CronTab"}),
     [("spec.names.listKind", 'Invalid value: "CronTab": kind and listKind may not be the '
       "same")]),
    ("root not an object", _schema({"type": "string"}),
     [("spec.versions[0].schema.openAPIV3Schema.type",
       'Invalid value: "string": must be object at the root')]),
    ("a field without a type", _schema({"type": "object", "properties": {"spec": {
        "properties": {"a": {"type": "string"}}}}}),
     [("spec.versions[0].schema.openAPIV3Schema.properties[spec].type",
       "Required value: must not be empty for specified object fields")]),
    ("an array without items", _schema({"type": "object", "properties": {
        "list": {"type": "array"}}}),
     [("spec.versions[0].schema.openAPIV3Schema.properties[list].items",
       "Required value: must be specified")]),
    ("map-list keys neither required nor defaulted, nullable", _schema({
        "type": "object", "properties": {"ports": {
            "type": "array", "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["port", "protocol", "port"],
            "items": {"type": "object", "nullable": True, "required": ["port"], "properties": {
                "port": {"type": "integer"},
                "protocol": {"type": "string", "nullable": True},
                "extra": {"type": "object"}}}}}}),
     [("spec.versions[0].schema.openAPIV3Schema.properties[ports].x-kubernetes-list-map-keys",
       'Invalid value: ["port","protocol","port"]: must not contain duplicate entries'),
      ("spec.versions[0].schema.openAPIV3Schema.properties[ports].items.nullable",
       "Forbidden: cannot be nullable when x-kubernetes-list-type is map"),
      ("spec.versions[0].schema.openAPIV3Schema.properties[ports].items.properties[protocol]"
       ".default", "Required value: this property is in x-kubernetes-list-map-keys, so it must "
       "have a default or be a required property"),
      ("spec.versions[0].schema.openAPIV3Schema.properties[ports].items.properties[protocol]"
       ".nullable", "Forbidden: this property is in x-kubernetes-list-map-keys, so it cannot be "
       "nullable")]),
    ("a map-list key that is an object, items that are not", _schema({
        "type": "object", "properties": {
            "a": {"type": "array", "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": ["k"],
                  "items": {"type": "object", "required": ["k"],
                            "properties": {"k": {"type": "object"}}}},
            "b": {"type": "array", "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": ["k"], "items": {"type": "string"}}}}),
     [("spec.versions[0].schema.openAPIV3Schema.properties[a].items.properties[k].type",
       'Invalid value: "object": must be a scalar type if parent array\'s '
       "x-kubernetes-list-type is map"),
      ("spec.versions[0].schema.openAPIV3Schema.properties[b].items.type",
       'Invalid value: "string": must be object if parent array\'s x-kubernetes-list-type '
       "is map")]),
    ("a defaulted map-list key", _schema({"type": "object", "properties": {"ports": {
        "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["p"],
        "items": {"type": "object", "properties": {"p": {"type": "string", "default": "x"}}}}}}),
     []),
    ("a default with a field its schema does not know", _schema({
        "type": "object", "properties": {
            "spec": {"type": "object", "default": {"size": 1, "colour": "red"},
                     "properties": {"size": {"type": "integer"}}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                     "default": {"anything": 1}}}}),
     [("spec.versions[0].schema.openAPIV3Schema.properties[spec].default",
       'Invalid value: {"colour":"red","size":1}: must not have unknown fields')]),
    ("$ref", _schema({"type": "object", "properties": {"a": {"$ref": "#/x"}}}),
     [("spec.versions[0].schema.openAPIV3Schema.properties[a].$ref",
       "Forbidden: $ref is not supported"),
      ("spec.versions[0].schema.openAPIV3Schema.properties[a].type",
       "Required value: must not be empty for specified object fields")]),
    ("uniqueItems", _schema({"type": "object", "properties": {"l": {
        "type": "array", "uniqueItems": True, "items": {"type": "string"}}}}),
     [("spec.versions[0].schema.openAPIV3Schema.properties[l].uniqueItems",
       "Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes "
       "quadratic")]),
    ("metadata beyond name", _schema({"type": "object", "properties": {"metadata": {
        "type": "object", "properties": {"labels": {"type": "object"}}}}}),
     [("spec.versions[0].schema.openAPIV3Schema.properties[metadata]",
       "Forbidden: must not specify anything other than name and generateName, but metadata "
       "is implicitly specified")]),
    ("a CEL rule on a field the schema does not have", _schema({
        "type": "object", "x-kubernetes-validations": [{"rule": "self.a > 0"}]}),
     [("spec.versions[0].schema.openAPIV3Schema.x-kubernetes-validations[0].rule",
       'Invalid value: apiextensions.ValidationRule{Rule:"self.a > 0", Message:"", '
       'MessageExpression:"", Reason:(*apiextensions.FieldValueErrorReason)(nil), '
       'FieldPath:"", OptionalOldSelf:(*bool)(nil)}: compilation failed: ERROR: '
       "<input>:1:5: undefined field 'a'\n | self.a > 0\n | ....^")]),
    ("a CEL rule inside allOf", _schema({"type": "object", "properties": {"a": {
        "type": "integer", "allOf": [{"x-kubernetes-validations": [{"rule": "true"}]}]}}}),
     [("spec.versions[0].schema.openAPIV3Schema.properties[a].allOf[0]"
       ".x-kubernetes-validations", "Forbidden: must be empty to be structural")]),
    # upstream's validateNestedValueValidation: only validations inside allOf/anyOf/oneOf/not
    ("a CEL rule inside not's anyOf", _schema({"type": "object", "properties": {"a": {
        "type": "integer", "not": {"anyOf": [{"x-kubernetes-validations": [{"rule": "true"}],
                                              "x-kubernetes-list-type": "set"}]}}}}),
     [("spec.versions[0].schema.openAPIV3Schema.properties[a].not.anyOf[0]"
       ".x-kubernetes-list-type", "Forbidden: must be undefined to be structural"),
      ("spec.versions[0].schema.openAPIV3Schema.properties[a].not.anyOf[0]"
       ".x-kubernetes-validations", "Forbidden: must be empty to be structural")]),
    ("nullable, a default or metadata inside oneOf", _schema({"type": "object", "properties": {
        "a": {"type": "object", "properties": {"metadata": {"type": "object"}},
              "oneOf": [{"nullable": True, "default": {},
                         "properties": {"metadata": {}}}]}}}),
     [("spec.versions[0].schema.openAPIV3Schema.properties[a].oneOf[0].default",
       "Forbidden: must be undefined to be structural"),
      ("spec.versions[0].schema.openAPIV3Schema.properties[a].oneOf[0].nullable",
       "Forbidden: must be false to be structural"),
      ("spec.versions[0].schema.openAPIV3Schema.properties[a].oneOf[0].properties[metadata]",
       "Forbidden: must not be specified in a nested context")]),
    ("a default of the wrong type", _schema({"type": "object", "properties": {"spec": {
        "type": "object", "properties": {"replicas": {"type": "integer", "default": "one"}}}}}),
     [("spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[replicas].default",
       'Invalid value: "string": spec.versions[0].schema.openAPIV3Schema.properties[spec]'
       '.properties[replicas].default in body must be of type integer: "string"')]),
    ("a default within bounds", _schema({"type": "object", "properties": {"spec": {
        "type": "object", "properties": {"replicas": {"type": "integer", "default": 1,
                                                      "minimum": 1}}}}}), []),
    ("a deprecation warning on a version not deprecated", crontab_crd(versions=[_version(
        deprecationWarning="old")]),
     [("spec.versions[0].deprecationWarning", 'Invalid value: "old": can only be set for '
       "deprecated versions")]),
    ("a deprecated version", crontab_crd(versions=[_version(), _version(
        name="v1beta1", storage=False, deprecated=True, deprecationWarning="use v1")]), []),
    ("a pattern RE2 does not take", _schema({"type": "object", "properties": {"a": {
        "type": "string", "pattern": "(a)\\1"}}}),
     [("spec.versions[0].schema.openAPIV3Schema.properties[a].pattern",
       "Invalid value: \"(a)\\\\1\": must be a valid regular expression, but isn't: invalid "
       "escape sequence: \\1")]),
    ("int-or-string as controller-gen writes it", _schema({"type": "object", "properties": {
        "port": {"anyOf": [{"type": "integer"}, {"type": "string"}],
                 "x-kubernetes-int-or-string": True},
        "limits": {"type": "object", "additionalProperties": {
            "anyOf": [{"type": "integer"}, {"type": "string"}], "pattern": "^[0-9]+$",
            "x-kubernetes-int-or-string": True}}}}), []),
    ("a type inside anyOf otherwise", _schema({"type": "object", "properties": {"a": {
        "type": "string", "anyOf": [{"type": "string"}]}}}),
     [("spec.versions[0].schema.openAPIV3Schema.properties[a].anyOf[0].type",
       "Forbidden: must be empty to be structural")]),
    ("preserve-unknown-fields false", _schema({"type": "object", "properties": {"a": {
        "type": "object", "x-kubernetes-preserve-unknown-fields": False}}}),
     [("spec.versions[0].schema.openAPIV3Schema.properties[a].x-kubernetes-preserve-unknown"
       "-fields", "Invalid value: false: must be true or undefined")]),
    ("conversion webhook", crontab_crd(conversion={"strategy": "Webhook", "webhook": {}}),
     [("spec.conversion.strategy", "Forbidden: conversion webhooks are not supported by "
       "nodelab (use strategy None)"),
      ("spec.conversion.webhook", "Forbidden: not supported by nodelab")]),
    ("selectableFields", crontab_crd(versions=[_version(selectableFields=[
        {"jsonPath": ".spec.image"}, {"jsonPath": ".spec.replicas"}])]), []),
    ("selectableFields upstream refuses", crontab_crd(versions=[_version(selectableFields=[
        {"jsonPath": ".spec.image"}, {"jsonPath": ".spec.image"}, {"jsonPath": "spec.image"},
        {"jsonPath": ".spec.nope"}, {"jsonPath": ".spec"}, {"jsonPath": ".metadata.name"},
        {"jsonPath": ".spec['image']"}, {}])]),
     [("spec.versions[0].selectableFields[1].jsonPath", 'Duplicate value: ".spec.image"'),
      ("spec.versions[0].selectableFields[2].jsonPath", 'Invalid value: "spec.image": is an '
       "invalid path: expected [ or . but got: spec"),
      ("spec.versions[0].selectableFields[3].jsonPath", 'Invalid value: ".spec.nope": is an '
       "invalid path: does not refer to a valid field"),
      ("spec.versions[0].selectableFields[4].jsonPath", 'Invalid value: ".spec": must point '
       "to a field of type string, boolean or integer. Enum string fields and strings with "
       "formats are allowed."),
      ("spec.versions[0].selectableFields[5].jsonPath", 'Invalid value: ".metadata.name": is '
       "an invalid path: does not refer to a valid field"),
      ("spec.versions[0].selectableFields[6].jsonPath", 'Invalid value: ".spec[\'image\']": '
       "is an invalid path: array notation is not allowed"),
      ("spec.versions[0].selectableFields[7].jsonPath", "Required value")]),
    ("more than 8 selectableFields", crontab_crd(versions=[_version(
        schema={"openAPIV3Schema": {"type": "object", "properties": {
            f"f{i}": {"type": "string"} for i in range(9)}}},
        selectableFields=[{"jsonPath": f".f{i}"} for i in range(9)])]),
     [("spec.versions[0].selectableFields", "Too many: 9: must have at most 8 items")]),
    ("a printer column of an unknown type", crontab_crd(versions=[_version(
        additionalPrinterColumns=[{"name": "Spec", "type": "text", "jsonPath": ".spec"}])]),
     [("spec.versions[0].additionalPrinterColumns[0].type", 'Unsupported value: "text": '
       'supported values: "boolean", "date", "integer", "number", "string"')]),
    ("scale outside spec", crontab_crd(versions=[_version(subresources={"scale": {
        "specReplicasPath": ".status.replicas", "statusReplicasPath": ".status.replicas"}})]),
     [("spec.versions[0].subresources.scale.specReplicasPath",
       'Invalid value: ".status.replicas": should be a json path under .spec')]),
    ("a group that only looks like a built-in one", crontab_crd(group="apps.example.com")
     | {"metadata": {"name": "crontabs.apps.example.com"}}, []),
    ("a community group without approval", crontab_crd(group="snapshot.storage.k8s.io")
     | {"metadata": {"name": "crontabs.snapshot.storage.k8s.io"}},
     [("metadata.annotations[api-approved.kubernetes.io]", 'Required value: protected groups '
       'must have approval annotation "api-approved.kubernetes.io", see '
       "https://github.com/kubernetes/enhancements/pull/1111")]),
    ("a community group approved", crontab_crd(group="snapshot.storage.k8s.io")
     | {"metadata": {"name": "crontabs.snapshot.storage.k8s.io", "annotations": {
         "api-approved.kubernetes.io": "https://github.com/kubernetes-csi/external-snapshotter"
         "/pull/419"}}}, []),
    ("a community group unapproved on purpose", crontab_crd(group="x.k8s.io")
     | {"metadata": {"name": "crontabs.x.k8s.io", "annotations": {
         "api-approved.kubernetes.io": "unapproved, experimental"}}}, []),
    ("status.acceptedNames as the names", CRONTAB_CRD | {"status": {"acceptedNames": {
        "plural": "Cron_Tabs", "kind": "CronTab", "listKind": "CronTab"}}},
     [("status.acceptedNames.plural", 'Invalid value: "Cron_Tabs": a DNS-1035 label must '
       "consist of lower case alphanumeric characters or '-', start with an alphabetic "
       "character, and end with an alphanumeric character"
       " (e.g. 'my-name',  or 'abc-123',"
       " regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"),
      ("status.acceptedNames.listKind",
       'Invalid value: "CronTab": kind and listKind may not be the same')]),
    ("a built-in group", crontab_crd(group="rbac.authorization.k8s.io")
     | {"metadata": {"name": "crontabs.rbac.authorization.k8s.io",
                     "annotations": {"api-approved.kubernetes.io": "unapproved"}}},
     [("spec.group", 'Invalid value: "rbac.authorization.k8s.io": is served by the API server '
       "itself; a CustomResourceDefinition in it is not supported by nodelab")]),
]


@pytest.mark.parametrize(("crd", "expected"), [(c[1], c[2]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_validation(crd: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    found = _causes(copy.deepcopy(crd))
    assert [(f, m) for f, m in found if not any(
        f == ef and m.endswith(em) for ef, em in expected)] == []
    assert all(any(f == ef and m.endswith(em) for f, m in found) for ef, em in expected), found


def test_group_and_plural_are_immutable_and_scope_once_established() -> None:
    old = copy.deepcopy(CRONTAB_CRD)
    old["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
    new = crontab_crd(scope="Cluster")
    assert ("spec.scope", 'Invalid value: "Cluster": field is immutable') in _causes(new, old)


def test_update_records_a_new_storage_version() -> None:
    old = copy.deepcopy(CRONTAB_CRD)
    definitions.prepare_for_create(old)
    assert old["status"]["storedVersions"] == ["v1"]
    new = crontab_crd(versions=[_version(storage=False), _version(name="v2")])
    definitions.prepare_for_update(new, old, "")
    assert new["status"]["storedVersions"] == ["v1", "v2"]
    assert _causes(new, old) == []
