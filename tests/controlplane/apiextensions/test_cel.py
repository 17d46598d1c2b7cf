"""CEL validation rules of CRD schemas (`x-kubernetes-validations`): compiling them when the
CRD is written and evaluating them on custom objects, with the examples of the Kubernetes
docs' "Validation rules" section and upstream's texts."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.apiextensions import structural
from nodelab.controlplane.apiextensions.cel import decltypes, validator
from nodelab.controlplane.validation.fields import FieldErrors

pytestmark = pytest.mark.unit
ROOT = "spec.versions[0].schema.openAPIV3Schema"


def _crd_schema(spec: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"spec": {"type": "object", **spec}}}


def _ints(*names: str) -> dict[str, Any]:
    return {name: {"type": "integer"} for name in names}


# the docs' first example: minReplicas <= replicas <= maxReplicas
REPLICAS = _crd_schema({
    "x-kubernetes-validations": [
        {"rule": "self.minReplicas <= self.replicas",
         "message": "replicas should be greater than or equal to minReplicas."},
        {"rule": "self.replicas <= self.maxReplicas",
         "message": "replicas should be smaller than or equal to maxReplicas."}],
    "properties": _ints("minReplicas", "replicas", "maxReplicas")})


def _causes(schema: dict[str, Any], spec: Any, old: Any = None) -> list[str]:
    old_obj = None if old is None else {"spec": old}
    return [f"{c.field}: {c.message}"
            for c in validator.validate(schema, {"spec": spec}, old_obj)]


@pytest.mark.parametrize(("schema", "spec", "old", "expected"), [
    (REPLICAS, {"minReplicas": 0, "replicas": 20, "maxReplicas": 10}, None,
     ["spec: Invalid value: replicas should be smaller than or equal to maxReplicas."]),
    (REPLICAS, {"minReplicas": 0, "replicas": 5, "maxReplicas": 10}, None, []),
    (REPLICAS, {"minReplicas": 0, "maxReplicas": 10}, None,
     ['spec: Invalid value: "object": no such key: replicas evaluating rule: replicas '
      "should be greater than or equal to minReplicas.",
      'spec: Invalid value: "object": no such key: replicas evaluating rule: replicas '
      "should be smaller than or equal to maxReplicas."]),
    # transition rule: immutability, only checked on an update
    (_crd_schema({"properties": {"name": {"type": "string", "x-kubernetes-validations": [
        {"rule": "self == oldSelf", "message": "Value is immutable"}]}}}),
     {"name": "b"}, {"name": "a"}, ['spec.name: Invalid value: "b": Value is immutable']),
    (_crd_schema({"properties": {"name": {"type": "string", "x-kubernetes-validations": [
        {"rule": "self == oldSelf", "message": "Value is immutable"}]}}}),
     {"name": "b"}, None, []),
    # optionalOldSelf: evaluated on create too, with oldSelf an optional
    (_crd_schema({"properties": {"name": {"type": "string", "x-kubernetes-validations": [
        {"rule": "!oldSelf.hasValue() || self == oldSelf.value()", "optionalOldSelf": True,
         "message": "set once"}, {"rule": "oldSelf.hasValue() || self != 'x'",
                                  "optionalOldSelf": True}]}}}),
     {"name": "x"}, None, ["spec.name: Invalid value: \"x\": failed rule: "
                           "oldSelf.hasValue() || self != 'x'"]),
    # messageExpression, reason and fieldPath
    (_crd_schema({"x-kubernetes-validations": [
        {"rule": "self.x <= self.maxLimit", "reason": "FieldValueForbidden",
         "fieldPath": ".x",
         "messageExpression": "'x exceeded max limit of ' + string(self.maxLimit)"}],
        "properties": _ints("x", "maxLimit")}),
     {"x": 11, "maxLimit": 10}, None, ["spec.x: Forbidden: x exceeded max limit of 10"]),
    (_crd_schema({"x-kubernetes-validations": [
        {"rule": "self.x > 0", "reason": "FieldValueRequired"},
        {"rule": "self.x > 0", "reason": "FieldValueDuplicate"}],
        "properties": _ints("x")}), {"x": 0}, None,
     ["spec: Required value: failed rule: self.x > 0", "spec: Duplicate value"]),
    # lists and maps (the docs' table of examples)
    (_crd_schema({"properties": {"tags": {"type": "array", "items": {"type": "string"},
                                          "x-kubernetes-validations": [
        {"rule": "self.all(t, t.startsWith('a'))"}, {"rule": "self.isSorted()"},
        {"rule": "size(self) <= 2"}]}}}),
     {"tags": ["ab", "b", "aa"]}, None,
     ["spec.tags: Invalid value: failed rule: self.all(t, t.startsWith('a'))",
      "spec.tags: Invalid value: failed rule: self.isSorted()",
      "spec.tags: Invalid value: failed rule: size(self) <= 2"]),
    (_crd_schema({"properties": {"labels": {
        "type": "object", "additionalProperties": {"type": "string"},
        "x-kubernetes-validations": [{"rule": "'app' in self"},
                                     {"rule": "self.all(k, self[k].size() < 4)"}]}}}),
     {"labels": {"tier": "front"}}, None,
     ["spec.labels: Invalid value: failed rule: 'app' in self",
      "spec.labels: Invalid value: failed rule: self.all(k, self[k].size() < 4)"]),
    # regex find, sum, dash-escaped names, int-or-string, date-time as a timestamp
    (_crd_schema({"x-kubernetes-validations": [
        {"rule": "self.image.find('[0-9]+$') == '42'"},
        {"rule": "self.sizes.sum() < 10"},
        {"rule": "self.max__dash__surge == '25%' || self.max__dash__surge == 1"},
        {"rule": "self.since < timestamp('2024-01-01T00:00:00Z')"}],
        "properties": {"image": {"type": "string"},
                       "sizes": {"type": "array", "items": {"type": "integer"}},
                       "max-surge": {"x-kubernetes-int-or-string": True},
                       "since": {"type": "string", "format": "date-time"}}}),
     {"image": "app:42", "sizes": [1, 2], "max-surge": "25%",
      "since": "2023-05-01T10:00:00Z"}, None, []),
    # items of a map list correlate with their old item by key
    (_crd_schema({"properties": {"ports": {
        "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
        "items": {"type": "object", "properties": {"name": {"type": "string"},
                                                   "port": {"type": "integer"}},
                  "x-kubernetes-validations": [{"rule": "self.port == oldSelf.port",
                                                "message": "port is immutable"}]}}}}),
     {"ports": [{"name": "b", "port": 2}, {"name": "a", "port": 9}]},
     {"ports": [{"name": "a", "port": 1}]},
     ["spec.ports[1]: Invalid value: port is immutable"]),
])
def test_rules_on_objects(schema: dict[str, Any], spec: Any, old: Any,
                          expected: list[str]) -> None:
    assert _causes(schema, spec, old) == expected


def _compile_causes(spec: dict[str, Any]) -> list[str]:
    errors = FieldErrors()
    structural.check(errors, _crd_schema(spec), ROOT)
    return [f"{c.field.removeprefix(ROOT)}: {c.message}" for c in errors.causes]


def _rule(text: str, **more: Any) -> dict[str, Any]:
    return {"x-kubernetes-validations": [{"rule": text, **more}],
            "properties": {**_ints("replicas"), "name": {"type": "string"}}}


STRING_OF_CIDR = "string(cidr(self.name)) != ''"


def _go(rule: str, message: str = "", message_expression: str = "") -> str:
    return (f'apiextensions.ValidationRule{{Rule:"{rule}", Message:"{message}", '
            f'MessageExpression:"{message_expression}", '
            "Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:\"\", "
            "OptionalOldSelf:(*bool)(nil)}")


VALIDATIONS = ".properties[spec].x-kubernetes-validations[0]"


@pytest.mark.parametrize(("spec", "expected"), [
    (_rule("self.replicas >= 0"), []),
    (_rule("self.replicas >= 0 && self.name.matches('^[a-z]+$')"), []),
    (_rule("has(self.metadata)"),  # metadata exists at the resource root only
     [f"{VALIDATIONS}.rule: Invalid value: {_go('has(self.metadata)')}: "
      "compilation failed: ERROR: <input>:1:4: undefined field 'metadata'\n"
      " | has(self.metadata)\n | ...^"]),
    (_rule("self.replicas + self.name"),
     [f"{VALIDATIONS}.rule: Invalid value: {_go('self.replicas + self.name')}: compilation "
      "failed: ERROR: <input>:1:15: found no matching overload for '_+_' applied to "
      "'(int, string)'\n | self.replicas + self.name\n | ..............^"]),
    (_rule("self.replicas"),
     [f"{VALIDATIONS}.rule: Invalid value: {_go('self.replicas')}: cel expression must "
      "evaluate to a bool"]),
    (_rule("self.replicas > 0", messageExpression="self.replicas"),
     [f"{VALIDATIONS}.messageExpression: Invalid value: "
      f"{_go('self.replicas > 0', message_expression='self.replicas')}: "
      "messageExpression must evaluate to a string"]),
    (_rule("isSemver(self.name)"),
     [f"{VALIDATIONS}.rule: Invalid value: {_go('isSemver(self.name)')}: "
      "compilation failed: ERROR: <input>:1:9: undeclared reference to 'isSemver': the "
      "Kubernetes CEL library function isSemver is not supported by nodelab\n"
      " | isSemver(self.name)\n | ........^"]),
    (_rule(STRING_OF_CIDR),
     [f"{VALIDATIONS}.rule: Invalid value: {_go(STRING_OF_CIDR)}: "
      "compilation failed: ERROR: <input>:1:7: found no matching overload for 'string' "
      "applied to '(net.CIDR)': string() of a CIDR is not supported by nodelab "
      "(cidr.ip() and cidr.prefixLength() are)\n | string(cidr(self.name)) != ''\n"
      " | ......^"]),
    (_rule(" "), [f"{VALIDATIONS}.rule: Required value: rule is not specified"]),
    (_rule("true", message=" "),
     [f'{VALIDATIONS}.message: Invalid value: " ": message must be non-empty if specified']),
    (_rule("true", reason="FieldValueTooLong"),
     [f'{VALIDATIONS}.reason: Unsupported value: "FieldValueTooLong": supported values: '
      '"FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", '
      '"FieldValueRequired"']),
    (_rule("true", fieldPath=".nope"),
     [f'{VALIDATIONS}.fieldPath: Invalid value: ".nope": fieldPath must be a valid path']),
    (_rule("true", optionalOldSelf=True),
     [f"{VALIDATIONS}.optionalOldSelf: Invalid value: true: may not be set if oldSelf is "
      "not used in rule"]),
])
def test_rules_compile_when_the_crd_is_written(spec: dict[str, Any],
                                               expected: list[str]) -> None:
    assert _compile_causes(spec) == expected


def test_the_resource_root_sees_metadata_name() -> None:
    errors = FieldErrors()
    structural.check(errors, {"type": "object", "x-kubernetes-validations": [
        {"rule": "self.metadata.name.startsWith('a') && self.kind == 'X'"}]}, ROOT)
    assert errors.causes == []
    schema = {"type": "object", "x-kubernetes-validations": [
        {"rule": "self.metadata.name.startsWith('a')", "message": "name starts with a"}]}
    found = validator.validate(schema, {"kind": "X", "metadata": {"name": "b"}}, None)
    assert [(c.field, c.message) for c in found] == [
        ("<nil>", "Invalid value: name starts with a")]


@pytest.mark.parametrize(("name", "escaped"), [
    ("replicas", "replicas"), ("foo-bar", "foo__dash__bar"), ("a.b", "a__dot__b"),
    ("a/b", "a__slash__b"), ("a__b", "a__underscores__b"), ("namespace", "__namespace__"),
    ("1a", None), ("a b", None)])
def test_property_names_are_escaped_as_upstream(name: str, escaped: str | None) -> None:
    assert decltypes.escape(name) == escaped


def test_a_hostile_rule_stops_at_the_iteration_budget() -> None:
    """Unbounded, the rule is refused when its CRD is written (its estimated cost); within
    the estimate, a rule past cel-cpp's iteration budget still stops."""
    schema = _crd_schema({"x-kubernetes-validations": [
        {"rule": "self.l.all(a, self.l.all(b, self.l.all(c, a + b + c != 'x')))"},
        {"rule": "false"}],
        "properties": {"l": {"type": "array", "items": {"type": "string"}}}})
    hint = ("(try simplifying the rule, or adding maxItems, maxProperties, and maxLength "
            "where arrays, maps, and strings are declared)")
    rule = ".properties[spec].x-kubernetes-validations[0].rule"
    assert _compile_causes(schema["properties"]["spec"]) == [
        f"{rule}: Forbidden: estimated rule cost exceeds budget by factor of more than 100x "
        f"{hint}",
        f"{rule}: Forbidden: contributed to estimated rule cost total exceeding cost limit "
        "for entire OpenAPIv3 schema",
        ": Forbidden: x-kubernetes-validations estimated rule cost total for entire "
        f"OpenAPIv3 schema exceeds budget by factor of more than 100x {hint}"]
    schema["properties"]["spec"]["properties"]["l"].update(maxItems=50)
    schema["properties"]["spec"]["properties"]["l"]["items"].update(maxLength=1)
    assert _compile_causes(schema["properties"]["spec"]) == []
    assert _causes(schema, {"l": ["a"] * 50}) == [
        "spec: Invalid value: \"object\": 'operation cancelled: actual cost limit exceeded': "
        "no further validation rules will be run due to call cost exceeds limit for rule: "
        "self.l.all(a, self.l.all(b, self.l.all(c, a + b + c != 'x')))"]


def test_a_hostile_object_cannot_hold_the_server() -> None:
    """A regex rule on a long value is RE2 (linear), and many items share one time budget."""
    schema = _crd_schema({"properties": {"items": {"type": "array", "items": {
        "type": "string", "x-kubernetes-validations": [{"rule": "!self.matches('(a+)+$')"}]}}}})
    found = _causes(schema, {"items": ["a" * 50_000 + "b"] * 40})
    assert found == []


LIBRARY = _crd_schema({"properties": {"s": {"type": "string"}}})


@pytest.mark.parametrize("rule", [
    # lists
    "[1, 2, 3].isSorted() && ![2, 1].isSorted()", "[1, 2, 3].sum() == 6",
    "[3, 1, 2].min() == 1 && [3, 1, 2].max() == 3", "[1, 2, 1].indexOf(1) == 0",
    "[1, 2, 1].lastIndexOf(1) == 2", "'abcb'.lastIndexOf('b') == 3",
    # regex, strings, sets
    "'abc 123'.find('[0-9]+') == '123'", "'a1b22'.findAll('[0-9]+') == ['1', '22']",
    "'a1b22c3'.findAll('[0-9]+', 2) == ['1', '22']", "'A B'.lowerAscii().split(' ') == ['a', 'b']",
    "sets.contains([1, 2, 3], [2])", "sets.equivalent([1, 2], [2, 1])",
    "sets.intersects([1], [1, 2])",
    # IP and CIDR
    "isIP('10.0.0.1') && !isIP('::ffff:1.2.3.4') && !isIP('fe80::1%eth0')",
    "ip('10.0.0.1').family() == 4 && ip('::1').family() == 6",
    "string(ip('2001:DB8::1')) == '2001:db8::1'", "ip.isCanonical('2001:db8::1')",
    "ip('127.0.0.1').isLoopback() && ip('0.0.0.0').isUnspecified()",
    "ip('10.0.0.1').isGlobalUnicast() && !ip('255.255.255.255').isGlobalUnicast()",
    "ip('fe80::1').isLinkLocalUnicast() && ip('ff02::1').isLinkLocalMulticast()",
    "cidr('10.0.0.0/8').containsIP('10.1.2.3') && cidr('10.0.0.0/8').containsIP(ip('10.0.0.1'))",
    "cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16') && !cidr('10.0.0.0/16').containsCIDR("
    "'10.0.0.0/8')", "cidr('10.1.2.3/8').masked() == cidr('10.0.0.0/8')",
    "cidr('10.1.2.3/8').ip() == ip('10.1.2.3') && cidr('::1/128').prefixLength() == 128",
    "isCIDR('10.0.0.0/8') && !isCIDR('10.0.0.0/33')",
    # quantities
    "quantity('1') == quantity('1000m')", "quantity('1Gi').isGreaterThan(quantity('1G'))",
    "!quantity('1.5').isInteger() && quantity('2k').asInteger() == 2000",
    "quantity('100m').add(quantity('900m')) == quantity('1')",
    "quantity('1').sub(1).sign() == 0 && quantity('5').compareTo(quantity('6')) == -1",
    "isQuantity('1Gi') && !isQuantity('1Zi')", "quantity('500m').asApproximateFloat() == 0.5",
    # URLs
    "url('https://a.example.com:8080/x?k=v').getHost() == 'a.example.com:8080'",
    "url('https://[::1]:80/').getHostname() == '::1' && url('https://a/').getPort() == ''",
    "url('https://a/p%20q').getEscapedPath() == '/p%20q' && url('/p').getScheme() == ''",
    "url('https://a/?k=v&k=w').getQuery()['k'] == ['v', 'w']",
    "isURL('https://example.com') && !isURL('example.com')",
    # optional field access, cel.bind
    "self.?s.orValue('none') == 'none'", "cel.bind(x, [1, 2], x.size() == 2)",
    # Kubernetes 1.37's lists version 1
    "[1, 2].includes(2) && ![1].includes(3)",
    # two-variable comprehensions (1.32) and cel-go's lists extension (1.34)
    "{'a': 1, 'b': 2}.all(k, v, v > 0) && [5, 6].exists(i, v, i == 1 && v == 6)",
    "[1, 2].existsOne(i, v, v == 2) && [1, 2].transformList(i, v, i + v) == [1, 3]",
    "[3, 1, 2].sort() == [1, 2, 3] && ['bb', 'a'].sortBy(x, size(x)) == ['a', 'bb']",
    "[1, 1, 2].distinct() == [1, 2] && [[1], [2, 3]].flatten() == [1, 2, 3]",
    "lists.range(3) == [0, 1, 2] && [1, 2, 3].slice(1, 2) == [2] && [1, 2].reverse() == [2, 1]",
    "[1, 2].first() == optional.of(1) && [1, 2].last().orValue(0) == 2",
])
def test_library_functions(rule: str) -> None:
    spec = LIBRARY["properties"]["spec"]
    assert _compile_causes({**spec, "x-kubernetes-validations": [{"rule": rule}]}) == []
    schema = _crd_schema({**spec, "x-kubernetes-validations": [{"rule": rule}]})
    assert _causes(schema, {}) == []


@pytest.mark.parametrize("rule", [
    "{'a': 1}.transformMap(k, v, v + 1) == {'a': 2}",
    "[1].transformMapEntry(i, v, {string(i): v}).size() == 1",
])
def test_map_building_comprehensions_are_refused_naming_them(rule: str) -> None:
    """cel-cpp declares them but its Python binding has no runtime for the map insertion
    they expand to: refused when the CRD is written, never failing at request time."""
    found = _compile_causes({**LIBRARY["properties"]["spec"],
                             "x-kubernetes-validations": [{"rule": rule}]})
    assert len(found) == 1
    assert found[0].startswith(".properties[spec].x-kubernetes-validations[0].rule: Invalid "
                               "value: apiextensions.ValidationRule{")
    assert found[0].endswith("compilation failed: transformMap and transformMapEntry "
                             "(two-variable comprehensions building maps) are not supported "
                             "by nodelab")


@pytest.mark.parametrize(("rule", "error"), [
    ("ip(self.s).family() == 4", 'IP Address "x" parse error during conversion from string: '
     'ParseAddr("x"): unable to parse IP'),
    ("quantity(self.s).sign() == 1", "quantities must match the regular expression "
     "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    ("url(self.s).getHost() == ''", 'URL parse error during conversion from string: parse '
     '"x": invalid URI for request'),
    ("[0].min() == 0 && self.s.size() / 0 == 1", "division by zero"),
    ("self.s.matches('[')", None),
])
def test_library_errors_are_evaluation_errors(rule: str, error: str | None) -> None:
    schema = _crd_schema({"properties": {"s": {"type": "string"}},
                          "x-kubernetes-validations": [{"rule": rule}]})
    found = _causes(schema, {"s": "x"})
    assert len(found) == 1 and found[0].startswith('spec: Invalid value: "object": ')
    assert found[0].endswith(f" evaluating rule: {rule}")
    if error is not None:
        assert f": {error} evaluating rule" in found[0]


def test_failures_on_unchanged_values_are_ratcheted_to_warnings() -> None:
    """A rule added after an object was stored does not lock it: an update that leaves the
    failing value as it was gets a warning (upstream's CRDValidationRatcheting)."""
    schema = _crd_schema({"properties": {
        "x": {"type": "integer", "x-kubernetes-validations": [{"rule": "self < 5"}]},
        "y": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string", "x-kubernetes-validations": [
            {"rule": "self != 'bad'"}]}}},
        "x-kubernetes-validations": [{"rule": "self.x < 5", "message": "x below 5"}]})
    warnings: list[str] = []
    found = validator.validate(schema, {"spec": {"x": 9, "y": 2, "tags": ["bad"]}},
                               {"spec": {"x": 9, "y": 1, "tags": ["bad"]}}, warnings)
    assert [(c.field, c.message) for c in found] == [
        ("spec", "Invalid value: x below 5")]  # spec itself changed (y)
    assert warnings == ["spec.x: Invalid value: 9: failed rule: self < 5",
                        "spec.tags[0]: Invalid value: \"bad\": failed rule: self != 'bad'"]
    assert _causes(schema, {"x": 9, "tags": ["bad", "bad"]}, {"x": 8, "tags": ["bad"]}) == [
        "spec: Invalid value: x below 5",
        "spec.x: Invalid value: 9: failed rule: self < 5",
        "spec.tags[0]: Invalid value: \"bad\": failed rule: self != 'bad'",
        "spec.tags[1]: Invalid value: \"bad\": failed rule: self != 'bad'"]


def test_numbers_past_int64_are_doubles_as_upstreams_json() -> None:
    schema = _crd_schema({"x-kubernetes-preserve-unknown-fields": True,
                          "x-kubernetes-validations": [{"rule": "self == self"}]})
    assert _causes(schema, {"big": [2**80, {"n": -(2**70)}]}) == []


def test_a_stored_rule_the_runtime_cannot_compile_is_a_cause_not_a_crash() -> None:
    """Rules are checked when the CRD is written; one that got past (an older nodelab) is
    upstream's "rule compile error" at its node."""
    schema = _crd_schema({"x-kubernetes-validations": [{"rule": "nope == 1"}]})
    assert _causes(schema, {}) == [
        "spec: Invalid value: \"object\": rule compile error: ERROR: <input>:1:1: undeclared "
        "reference to 'nope' (in container '')\n | nope == 1\n | ^"]


def test_transition_rules_need_a_correlatable_place() -> None:
    """Items of a list that is not a `map` list have no old value: a rule there may not use
    oldSelf (it would never run)."""
    items = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"],
             "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}
    assert _compile_causes({"properties": {"ports": {"type": "array", "items": items}}}) == [
        ".properties[spec].properties[ports].items.x-kubernetes-validations[0].rule: Invalid "
        'value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the '
        f"schema within {ROOT}.properties[spec].properties[ports]"]
    assert _compile_causes({"properties": {"ports": {
        "type": "array", "items": items, "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"]}}}) == []


# lists, maps and strings bounded as the docs advise, so every rule is within the cost limit
# (`test_cel_cost`)
_STR = {"type": "string", "maxLength": 64}
DOCS = _crd_schema({"properties": {
    "stateCounts": {"type": "object", "maxProperties": 10,
                    "additionalProperties": {"type": "integer"}},
    "list1": {"type": "array", "maxItems": 10, "items": _STR},
    "list2": {"type": "array", "maxItems": 10, "items": _STR},
    "map1": {"type": "object", "maxProperties": 10, "additionalProperties": _STR},
    "envars": {"type": "array", "x-kubernetes-list-type": "map", "maxItems": 10,
               "x-kubernetes-list-map-keys": ["name"],
               "items": {"type": "object", "required": ["name"], "properties": {
                   "name": _STR, "value": _STR}}},
    "created": {"type": "string", "format": "date-time"},
    "expired": {"type": "string", "format": "date-time"},
    "ttl": {"type": "string", "format": "duration"},
    "health": _STR,
    "widgets": {"type": "array", "maxItems": 10, "items": {"type": "object", "properties": {
        "key": _STR, "foo": {"type": "integer"}}}},
    "size": {"x-kubernetes-int-or-string": True},
    "set1": {"type": "array", "x-kubernetes-list-type": "set", "maxItems": 10, "items": _STR},
    "set2": {"type": "array", "x-kubernetes-list-type": "set", "maxItems": 10, "items": _STR},
    "names": {"type": "array", "x-kubernetes-list-type": "set", "maxItems": 10,
              "items": _STR},
    "details": {"type": "object", "maxProperties": 10, "additionalProperties": _STR},
    "foo": {"type": "integer", "nullable": True}}})
DOCS_SPEC = {
    "stateCounts": {"Available": 1}, "list1": ["a"], "list2": [], "map1": {"MY_KEY": "abc"},
    "envars": [{"name": "MY_ENV", "value": "abc"}, {"name": "OTHER", "value": "1"}],
    "created": "2024-01-01T00:00:00Z", "ttl": "1h", "expired": "2024-01-01T02:00:00Z",
    "health": "okay", "widgets": [{"key": "x", "foo": 3}], "size": "100%",
    "set1": ["a"], "set2": ["b"], "names": ["n"], "details": {"n": "d"}, "foo": None}


@pytest.mark.parametrize(("rule", "passes"), [
    ("'Available' in self.stateCounts", True),
    ("(size(self.list1) == 0) != (size(self.list2) == 0)", True),
    ("!('MY_KEY' in self.map1) || self.map1['MY_KEY'].matches('^[a-zA-Z]*$')", True),
    ("self.envars.all(e, e.name != 'MY_ENV' || e.value.matches('^[a-zA-Z]*$'))", True),
    ("has(self.expired) && self.created + self.ttl < self.expired", True),
    ("self.health.startsWith('ok')", True),
    ("self.widgets.exists(w, w.key == 'x' && w.foo < 10)", True),
    ("type(self.size) == string ? self.size == '100%' : self.size == 1000", True),
    ("self.set1.all(e, !(e in self.set2))", True),
    ("size(self.names) == size(self.details) && self.names.all(n, n in self.details)", True),
    ("has(self.foo)", False),  # null valued fields are treated as absent fields
    ("self.created + duration('3h') < self.expired", False),
])
def test_the_docs_examples(rule: str, passes: bool) -> None:
    """The docs' `self.envars.filter(e, e.name == 'MY_ENV').all(e, e.value.matches(...))`
    is written as one `all` here: a filter's result has no schema path in cel-go's estimator
    (its items are `@items` of nothing), so `e.value` is of unknown size and the rule's
    estimated cost unbounded, refused when the CRD is written, as upstream's
    (`test_a_filtered_list_has_no_size_bound`)."""
    spec = DOCS["properties"]["spec"]
    assert _compile_causes({**spec, "x-kubernetes-validations": [{"rule": rule}]}) == []
    schema = _crd_schema({**spec, "x-kubernetes-validations": [{"rule": rule}]})
    assert _causes(schema, DOCS_SPEC) == ([] if passes else [
        f"spec: Invalid value: failed rule: {rule}"])


def test_a_filtered_list_has_no_size_bound() -> None:
    rule = "self.envars.filter(e, e.name == 'MY_ENV').all(e, e.value.matches('^[a-zA-Z]*$'))"
    found = _compile_causes({**DOCS["properties"]["spec"],
                             "x-kubernetes-validations": [{"rule": rule}]})
    assert found[0] == (
        ".properties[spec].x-kubernetes-validations[0].rule: Forbidden: estimated rule cost "
        "exceeds budget by factor of more than 100x (try simplifying the rule, or adding "
        "maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)")


@pytest.mark.parametrize(("rule", "error"), [
    ("self.foo == true", "<input>:1:10: found no matching overload for '_==_' applied to "
     "'(int, bool)'"),
    ("self.nonExistingField > 0", "<input>:1:5: undefined field 'nonExistingField'"),
    ("has(self)", "<input>:1:4: invalid argument to has() macro"),
])
def test_the_docs_compile_errors(rule: str, error: str) -> None:
    found = _compile_causes({**DOCS["properties"]["spec"],
                             "x-kubernetes-validations": [{"rule": rule}]})
    assert len(found) == 1 and f"compilation failed: ERROR: {error}\n" in found[0]


def test_an_object_past_the_time_budget_stops_with_upstreams_budget_text(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Many items each with rules share one budget; past it, no further rule runs."""
    monkeypatch.setattr(validator, "TIME_BUDGET", 0.0)
    schema = _crd_schema({"properties": {"items": {"type": "array", "items": {
        "type": "string", "x-kubernetes-validations": [{"rule": "self.size() > 0"}]}}}})
    assert _causes(schema, {"items": ["a"] * 1000}) == [
        'spec.items[0]: Invalid value: "string": validation failed due to running out of cost '
        "budget, no further validation rules will be run"]


def test_an_atomic_map_correlates_by_key_as_upstream() -> None:
    """Upstream's MapIsCorrelatable holds for atomic maps too: a transition rule under an atomic
    object's properties or an atomic map's additionalProperties is accepted and enforced."""
    immutable = {"type": "string", "maxLength": 63, "x-kubernetes-validations": [
        {"rule": "self == oldSelf", "message": "immutable"}]}
    atomic_object = {"type": "object", "x-kubernetes-map-type": "atomic",
                     "properties": {"name": immutable}}
    atomic_map = {"type": "object", "x-kubernetes-map-type": "atomic", "maxProperties": 64,
                  "additionalProperties": immutable}
    spec = {"properties": {"ref": atomic_object, "labels": atomic_map}}
    assert _compile_causes(spec) == []
    schema = _crd_schema(spec)
    assert _causes(schema, {"ref": {"name": "b"}}, {"ref": {"name": "a"}}) == [
        "spec.ref.name: Invalid value: \"b\": immutable"]
    assert _causes(schema, {"labels": {"k": "b"}}, {"labels": {"k": "a"}}) == [
        "spec.labels[k]: Invalid value: \"b\": immutable"]
    assert _causes(schema, {"ref": {"name": "a"}, "labels": {"k": "a", "new": "x"}},
                   {"ref": {"name": "a"}, "labels": {"k": "a"}}) == []


def test_an_object_value_is_not_shown_whatever_the_schema_type() -> None:
    """A preserve-unknown-fields or int-or-string node may hold an object or array: its failed
    rule omits the value as for any object (upstream's field.OmitValueType)."""
    schema = _crd_schema({"properties": {
        "extra": {"x-kubernetes-preserve-unknown-fields": True,
                  "x-kubernetes-validations": [{"rule": "false", "message": "no"}]},
        "size": {"x-kubernetes-int-or-string": True,
                 "x-kubernetes-validations": [{"rule": "false", "message": "no"}]}}})
    assert _causes(schema, {"extra": {"a": [1]}, "size": 3}) == [
        "spec.extra: Invalid value: no", "spec.size: Invalid value: 3: no"]
    assert _causes(schema, {"extra": [1, 2]}) == ["spec.extra: Invalid value: no"]
