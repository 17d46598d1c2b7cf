"""The estimated cost of CRD validation rules, from upstream's own table
(apiextensions-apiserver pkg/apiserver/schema/cel/compilation_test.go `TestCostEstimation`):
each schema without limits ("calc") and with maxItems/maxProperties/maxLength set ("set")."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from nodelab.controlplane.apiextensions import definitions, structural
from nodelab.controlplane.apiextensions.cel import (
    budget,
    cost,
    decltypes,
    environment,
    library_cost,
    rules,
)
from nodelab.controlplane.apiextensions.cel.library_cost import MAX
from nodelab.controlplane.validation.fields import FieldErrors
from tests.controlplane.apiextensions.crontab import crontab_crd

pytestmark = pytest.mark.unit
Gen = Callable[[int | None], dict[str, Any]]


def _limit(key: str, most: int | None) -> dict[str, Any]:
    return {key: most} if most is not None else {}


def _item(kind: str) -> dict[str, Any]:
    if kind == "int-or-string":
        return {"x-kubernetes-int-or-string": True}
    if kind in ("duration", "date", "date-time"):
        return {"type": "string", "format": kind}
    return {"type": kind}


def array(kind: str) -> Gen:
    return lambda most: {"type": "array", "items": _item(kind), **_limit("maxItems", most)}


def array_of_arrays(kind: str) -> Gen:
    return lambda most: {"type": "array", "items": {"type": "array", "items": _item(kind)},
                         **_limit("maxItems", most)}


OBJECT = {"type": "object", "required": ["required"],
          "properties": {"required": {"type": "string"}, "optional": {"type": "string"}}}


def object_array(most: int | None) -> dict[str, Any]:
    return {"type": "array", "items": OBJECT, **_limit("maxItems", most)}


def map_array(kind: str) -> Gen:
    return lambda most: {"type": "array", "items": {
        "type": "object", "additionalProperties": _item(kind)}, **_limit("maxItems", most)}


def map_of(item: dict[str, Any]) -> Gen:
    return lambda most: {"type": "object", "additionalProperties": item,
                         **_limit("maxProperties", most)}


def string(most: int | None) -> dict[str, Any]:
    return {"type": "string", **_limit("maxLength", most)}


def nested_spec(most: int | None) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": string(most),
            **_limit("maxProperties", most)}


def nested_root(all_bounded: bool) -> Gen:
    def gen(most: int | None) -> dict[str, Any]:
        inner = {**OBJECT, **(_limit("maxProperties", most) if all_bounded else {})}
        return {"type": "array", "items": {"type": "object", "additionalProperties": inner,
                                           **_limit("maxProperties", most)},
                **(_limit("maxItems", most) if all_bounded else {})}
    return gen


def joined(rule: str) -> Gen:
    return lambda most: {"type": "array", "items": string(most), **_limit("maxItems", most)}


# name, schema generator, rule, calc cost (None: not checked), max elements, set cost
CASES: list[tuple[str, Gen, str, int | None, int, int | None]] = [
    ("number array with all", array("number"), "self.all(x, true)", 4718591, 10, 32),
    ("string array with all", array("string"), "self.all(x, true)", 3145727, 20, 62),
    ("boolean array with all", array("boolean"), "self.all(x, true)", 1887437, 5, 17),
    ("array of number arrays with all", array_of_arrays("number"), "self.all(x, true)",
     3145727, 100, 302),
    ("array of objects with all", object_array, "self.all(x, true)", 555128, 50, 152),
    ("map of numbers with all", map_of(_item("number")), "self.all(x, true)", 1348169, 10, 32),
    ("map of strings with all", map_of(_item("string")), "self.all(x, true)", 1179647, 3, 11),
    ("map of booleans with all", map_of(_item("boolean")), "self.all(x, true)", 943718, 100,
     302),
    ("string with contains", string, "self.contains('test')", 314574, 10, 5),
    ("string with startsWith", string, "self.startsWith('test')", 2, 15, 2),
    ("string with endsWith", string, "self.endsWith('test')", 2, 30, 2),
    ("concat string", string, 'size(self + "hello") > size("hello")', 314578, 4, 7),
    ("index of array with numbers", array("number"), "self[1] == 0.0", 2, 5000, 2),
    ("index of array with strings", array("string"), "self[1] == self[1]", 314577, 8, 314577),
    ("O(n^2) loop with numbers", array("number"), "self.all(x, self.all(y, true))", None, 10,
     352),
    ("O(n^3) loop with numbers", array("number"),
     "self.all(x, self.all(y, self.all(z, true)))", None, 10, 3552),
    ("regex matches simple", string, 'self.matches("x")', 314574, 50, 22),
    ("regex matches empty string", string, '"".matches("(((((((((())))))))))[0-9]")', 7, 10,
     7),
    ("regex matches empty regex", string, 'self.matches("")', 1, 100, 1),
    ("map of strings with value length", nested_spec, "self.all(x, x.contains(self[x]))",
     2752507, 10, 72),
    ("set array maxLength to zero", array("number"), "self[3] == 0.0", 2, 0, 2),
    ("set map maxLength to zero", map_of(_item("number")), 'self["x"] == 0.0', 2, 0, 2),
    ("set string maxLength to zero", string, 'self == "x"', 2, 0, 1),
    ("set maxLength greater than estimated maxLength", array("number"),
     "self.all(x, x == 0.0)", 6291454, 3 * 1024 * 2048, 25165826),
    ("nested types with root rule with all supporting maxLength", nested_root(True),
     'self.all(x, x["y"].required == "z")', 7340027, 10, 72),
    ("nested types with root rule with one supporting maxLength", nested_root(False),
     'self.all(x, x["y"].required == "z")', 7340027, 10, 7340027),
    ("int-or-string array with all", array("int-or-string"), "self.all(x, true)", 4718591, 10,
     32),
    ("index of array with int-or-strings", array("int-or-string"), "self[0] == 5", 3, 10, 3),
    ("index of array with booleans", array("boolean"), "self[0] == false", 2, 25, 2),
    ("index of array of objects", object_array, "self[0] == null", 2, 422, 2),
    ("index of array of array of numbers", array_of_arrays("number"), "self[0][0] == -1.0", 3,
     51, 3),
    ("array of number maps with all", map_array("number"), "self.all(x, x.y == 25.2)",
     6291452, 12, 74),
    ("index of array of number maps", map_array("number"), "self[0].x > 2.0", 4, 3000, 4),
    ("duration array with all", array("duration"), "self.all(x, true)", 2359295, 5, 17),
    ("index of duration array", array("duration"), "self[0].getHours() == 2", 4, 525, 4),
    ("date array with all", array("date"), "self.all(x, true)", 725936, 15, 47),
    ("index of date array", array("date"), "self[2].getDayOfMonth() == 13", 4, 42, 4),
    ("date-time array with all", array("date-time"), "self.all(x, true)", 428963, 25, 77),
    ("index of date-time array", array("date-time"), "self[2].getMinutes() == 45", 4, 99, 4),
    ("map of int-or-strings with all", map_of(_item("int-or-string")), "self.all(x, true)",
     1348169, 15, 47),
    ("map of objects with all", map_of(OBJECT), "self.all(x, true)", 428963, 20, 62),
    ("map of number maps with all", map_of({"type": "object", "additionalProperties": {
        "type": "number"}}), "self.all(x, true)", 1179647, 10, 32),
    ("map of number arrays with all", map_of({"type": "array", "items": {"type": "number"}}),
     "self.all(x, true)", 1179647, 25, 77),
    ("map of durations with all", map_of(_item("duration")), "self.all(x, true)", 1048577, 5,
     17),
    ("map of dates with all", map_of(_item("date")), "self.all(x, true)", 524288, 10, 32),
    ("map of date-times with all", map_of(_item("date-time")), "self.all(x, true)", 349526,
     25, 77),
    ("extended library regex find", string, "self.find('[0-9]+') == ''", 629147, 10, 11),
    ("extended library join", joined(""), "self.join(' ') == 'aa bb'", 329853068905, 10, 43),
    ("extended library isSorted", joined(""), "self.isSorted() == true", 329854432052, 10, 52),
    ("extended library replace", lambda most: {"type": "object", "properties": {
        "str": string(most), "before": string(2), "after": string(4)}},
     "self.str.replace(self.before, self.after) == 'does not matter'", 629154, 4, 12),
    ("extended library split", lambda most: {"type": "object", "properties": {
        "str": string(most), "separator": string(most)}},
     "self.str.split(self.separator) == []", 629160, 10, 22),
    ("extended library lowerAscii", string, "self.lowerAscii() == 'lower!'", 314575, 10, 6),
    ("check cost of size call", map_of(_item("integer")), "oldSelf.size() == self.size()", 5,
     10, 5),
    ("check cost of timestamp comparison", map_of(_item("date-time")),
     'self["a"] == self["b"]', 8, 7, 8),
    ("check cost of duration comparison", map_of(_item("duration")), 'self["c"] == self["d"]',
     8, 42, 8),
    ("enums with maxLength equals to the longest possible value",
     lambda most: {"type": "string", "enum": ["A", "B", "C", "LongValue"],
                   **_limit("maxLength", most)}, "self.contains('A')", 2, 1000, 401),
    ("IntOrString type with quantity rule",
     lambda most: {"x-kubernetes-int-or-string": True, **_limit("maxLength", most)},
     "isQuantity(self)", 314574, 20, 9),
]


def max_cost(schema: dict[str, Any], rule: str) -> int:
    env, decl = rules._checking_env(json.dumps(schema, sort_keys=True), False)
    checked = cost.checked(env.compile(rule).serialize())
    return cost.estimate(checked, library_cost.SizeEstimator(decl))[1]


@pytest.mark.parametrize(("gen", "rule", "calc", "most", "set_cost"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_upstreams_cost_estimates(gen: Gen, rule: str, calc: int | None, most: int,
                                  set_cost: int | None) -> None:
    if calc is not None:
        assert max_cost(gen(None), rule) == calc
    if set_cost is not None:
        assert max_cost(gen(most), rule) == set_cost


def _crd_with_rule(rule: str, label: str = "a") -> dict[str, Any]:
    tags = {"type": "array", "items": {"type": "string"},
            "x-kubernetes-validations": [{"rule": rule}]}
    crd = crontab_crd()
    version = crd["spec"]["versions"][0]
    version["schema"] = {"openAPIV3Schema": {
        "type": "object", "description": label,
        "properties": {"spec": {"type": "object", "properties": {"tags": tags}}}}}
    definitions.apply_defaults(crd)
    return crd


PAIRWISE = "self.all(a, self.all(b, a == b || !a.contains(b)))"


def test_an_update_that_leaves_the_schema_keeps_a_rule_past_the_expression_limit() -> None:
    """Upstream's findVersionsWithUnchangedSchemas: an expensive rule stored before is not
    held to the per-expression limit again while its version's schema is unchanged (it still
    counts towards the schema's total); a changed schema is held to both."""
    rule = ("spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[tags]"
            ".x-kubernetes-validations[0].rule")
    created = [(c.field, c.message.split(" by factor")[0])
               for c in definitions.validate(_crd_with_rule(PAIRWISE)).causes]
    assert created == [
        (rule, "Forbidden: estimated rule cost exceeds budget"),
        (rule, "Forbidden: contributed to estimated rule cost total exceeding cost limit for "
               "entire OpenAPIv3 schema"),
        ("spec.versions[0].schema.openAPIV3Schema", "Forbidden: x-kubernetes-validations "
         "estimated rule cost total for entire OpenAPIv3 schema exceeds budget")]
    old = _crd_with_rule(PAIRWISE)
    same = [c.field for c in definitions.validate(_crd_with_rule(PAIRWISE), old).causes]
    assert same == [rule, "spec.versions[0].schema.openAPIV3Schema"]  # the total only
    changed = definitions.validate(_crd_with_rule(PAIRWISE, label="b"), old).causes
    assert [c.field for c in changed] == [rule, rule, "spec.versions[0].schema.openAPIV3Schema"]


# cel-go's own table for its lists extension (ext/lists_test.go `TestListsCosts`, literals)
LISTS = [
    ("lists.range(4) == [0, 1, 2, 3]", 26), ("lists.range(4 / 2) == [0, 1]", 2**64 - 1),
    ("[[1, 2], 3].flatten(1) == [1, 2, 3]", 44), ("[[1, 2], 3].flatten(2) == [1, 2, 3]", 46),
    ("[[1, 2], 3].flatten(3) == [1, 2, 3]", 48), ("[[1], 2, 3].flatten() == [1, 2, 3]", 45),
    ("[1, 2, 3].distinct() == [1, 2, 3]", 50), ("[1, 1, 1].distinct() == [1]", 50),
    ("[1, 2, 3].slice(1, 3) == [2, 3]", 34), ("[3, 2, 1].reverse() == [1, 2, 3]", 35),
    ("[2, 3, 1].sort() == [1, 2, 3]", 50),
    ("[{'x':4}, {'x':3}].sortBy(m, m['x']) == [{'x':3}, {'x':4}]", 211),
]


@pytest.mark.parametrize(("expression", "expected"), LISTS)
def test_cel_gos_lists_extension_estimates(expression: str, expected: int) -> None:
    checked = cost.checked(environment.runtime_env().compile(expression).serialize())
    sizes = library_cost.SizeEstimator(decltypes.DeclType("dyn"))
    assert cost.estimate(checked, sizes) == (expected, expected)


def _schema_causes(spec: dict[str, Any]) -> list[tuple[str, str]]:
    errors = FieldErrors()
    structural.check(errors, spec, "R")
    return [(c.field.removeprefix("R"), c.reason) for c in errors.causes]


STRING_5000 = {"type": "string", "maxLength": 5000,
               "x-kubernetes-validations": [{"rule": "self.contains('keyword')"}]}


@pytest.mark.parametrize(("spec", "expected"), [
    # upstream's validation_test.go cases on estimated costs
    ({"type": "object", "properties": {
        "list": {"type": "array", "maxItems": 100000, "items": STRING_5000},
        "map": {"type": "object", "maxProperties": 1000, "additionalProperties": STRING_5000},
        "field": {"type": "integer",
                  "x-kubernetes-validations": [{"rule": "self > 50 && self < 100"}]}}},
     [(".properties[list].items.x-kubernetes-validations[0].rule", "FieldValueForbidden"),
      (".properties[list].items.x-kubernetes-validations[0].rule", "FieldValueForbidden"),
      (".properties[map].additionalProperties.x-kubernetes-validations[0].rule",
       "FieldValueForbidden"),
      ("", "FieldValueForbidden")]),
    ({"type": "object", "properties": {"f": {
        "type": "array", "items": {"type": "string"}, "x-kubernetes-validations": [{
            "rule": "true", "messageExpression":
                "self[0] + self[1] + self[2] + self[3] + self[4] + self[5] + self[6] + "
                "self[7]"}]}}},
     [(".properties[f].x-kubernetes-validations[0].messageExpression",
       "FieldValueForbidden")]),
    ({"type": "object", "properties": {"f": {
        "type": "array", "maxItems": 5, "items": {"type": "string", "maxLength": 5},
        "x-kubernetes-validations": [{"rule": "self.all(x, self.exists_one(y, "
                                               "x.lowerAscii() == y.lowerAscii()))"}]}}},
     []),
    ({"type": "object", "x-kubernetes-validations": [{
        "rule": "self.metadata.name.contains(self.metadata.name) && "
                "self.metadata.generateName.contains(self.metadata.generateName)"}]}, []),
    ({"type": "object", "properties": {"f": {
        "type": "array", "items": {"type": "string"}, "x-kubernetes-validations": [{
            "rule": "true",
            "messageExpression": "string(self[0]) + string(self[1]) + string(self[2])"}]}}},
     [(".properties[f].x-kubernetes-validations[0].messageExpression",
       "FieldValueForbidden"),
      (".properties[f].x-kubernetes-validations[0].messageExpression",
       "FieldValueForbidden"),
      ("", "FieldValueForbidden")]),
])
def test_upstreams_crd_cost_cases(spec: dict[str, Any], expected: list[tuple[str, str]]
                                  ) -> None:
    assert _schema_causes(spec) == expected


@pytest.mark.parametrize(("costs", "expensive", "total"), [
    # upstream's TestPerCRDEstimatedCost
    ([], [], 0), ([1000000], [1000000], 1000000), ([900000], [], 900000),
    ([5000000, 25000000], [25000000, 5000000], 30000000),
    ([5000000, 25000000, 900000], [25000000, 5000000], 30900000),
    ([16000000, 50000000, 34000000, 50000000], [50000000, 50000000, 34000000, 16000000],
     150000000),
    ([16000000, 50000000, 900000, 34000000, 50000000, 50000001],
     [50000001, 50000000, 50000000, 34000000], 200900001),
    ([MAX // 2, MAX // 2, 1, 10, 100, 1000], [MAX // 2, MAX // 2], MAX),
])
def test_upstreams_per_crd_totals(costs: list[int], expensive: list[int], total: int) -> None:
    crd = budget.TotalCost()
    for spent in costs:
        crd.observe("r", spent)
    assert [c for c, _ in crd.most_expensive] == expensive
    assert crd.total == total
