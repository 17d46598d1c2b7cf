"""additionalPrinterColumns as Table cells (upstream's tableconvertor)."""

from __future__ import annotations

import pytest

from nodelab.controlplane.apiextensions import columns

pytestmark = pytest.mark.unit

VERSION = {"additionalPrinterColumns": [
    {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"},
    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
    {"name": "First", "type": "string", "jsonPath": ".spec.tags[0]", "priority": 1},
    {"name": "Ready", "type": "boolean", "jsonPath": ".status.ready"},
]}


def test_cells_by_type() -> None:
    obj = {"metadata": {"name": "c"}, "spec": {"cronSpec": "* * * * */5", "replicas": 2,
                                               "tags": ["a"]}, "status": {"ready": "yes"}}
    assert columns.row(VERSION, obj) == ["c", "* * * * */5", 2, "a", None]
    assert [(d["name"], d["priority"]) for d in columns.definitions(VERSION)] == [
        ("Name", 0), ("Spec", 0), ("Replicas", 0), ("First", 1), ("Ready", 0)]


def test_without_columns_age_is_shown() -> None:
    assert [d["name"] for d in columns.definitions({})] == ["Name", "Age"]
    assert columns.row({}, {"metadata": {"name": "c"}})[1] is None


@pytest.mark.parametrize(("path", "steps"), [
    (".spec.cronSpec", ["spec", "cronSpec"]),
    ("{.status.items[2].x}", ["status", "items", 2, "x"]),
    (".spec.items[*].x", ["spec", "items", ("*",), "x"]),
    ('.metadata.labels["a.io/b"]', ["metadata", "labels", "a.io/b"]),
    (".status.conditions[?(@.type==\"Ready\")].status",
     ["status", "conditions", ("?", '"Ready"', "type"), "status"]),
    ("spec", None), (".spec.items[0:2]", None), (".spec..x", None)])
def test_paths_served(path: str, steps: list[columns.Step] | None) -> None:
    assert columns.parse_path(path) == steps


def test_a_condition_column_as_operators_write_it() -> None:
    version = {"additionalPrinterColumns": [
        {"name": "Ready", "type": "string",
         "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
        {"name": "Issuer", "type": "string", "jsonPath": ".spec.issuerRef.name"},
        {"name": "Owner", "type": "string",
         "jsonPath": ".metadata.annotations['example.io/owner']"}]}
    obj = {"metadata": {"name": "c", "annotations": {"example.io/owner": "me"}},
           "spec": {"issuerRef": {"name": "ca"}},
           "status": {"conditions": [{"type": "Issuing", "status": "False"},
                                     {"type": "Ready", "status": "True"}]}}
    assert columns.row(version, obj) == ["c", "True", "ca", "me"]
    assert columns.row(version, {"metadata": {"name": "d"}}) == ["d", None, None, None]
