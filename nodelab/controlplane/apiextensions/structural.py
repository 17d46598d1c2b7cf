"""Upstream's rules for a CRD version's `openAPIV3Schema` (a *structural* schema), and the
keywords nodelab serves.

apiextensions.k8s.io/v1 requires every schema to be structural
(`apiextensions-apiserver/pkg/apiserver/schema/validation.go`): a non-empty `type` on every
node that names fields or items (unless `x-kubernetes-preserve-unknown-fields` or
`x-kubernetes-int-or-string` says what it holds), `object` at the root, `items` on every array,
no `$ref`, `properties` and `additionalProperties` not both, `metadata` at the root restricted
to `name` and `generateName`, and no `uniqueItems: true`, with upstream's field paths and texts.
A `default` must pass its own schema's checks (`schema_checks`) and is not allowed at the root.

What the schema may say is the keywords of `SERVED`; anything else that upstream accepts
(`patternProperties`, ...) is refused with a 422 naming the field and saying nodelab does not
support it, never accepted and then ignored. Inside `allOf`/`anyOf`/`oneOf`/`not` a schema only
validates, as upstream's: CEL rules there are refused ("must be empty to be structural").
The CEL rules of a structural schema (`x-kubernetes-validations`) are checked and compiled by
`cel.rules` once the schema is structural.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from nodelab.controlplane.apiextensions import pruning, schema_checks
from nodelab.controlplane.validation.fields import FieldErrors

if TYPE_CHECKING:
    from nodelab.controlplane.apiextensions.cel.budget import TotalCost

NOT_SUPPORTED = "not supported by nodelab"
TYPES = ("array", "boolean", "integer", "number", "object", "string")
SERVED = frozenset({
    "type", "format", "title", "description", "default", "example", "externalDocs",
    "nullable", "enum", "maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum",
    "multipleOf", "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems",
    "maxProperties", "minProperties", "required", "items", "properties",
    "additionalProperties", "allOf", "anyOf", "oneOf", "not",
    "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string",
    "x-kubernetes-embedded-resource", "x-kubernetes-list-type", "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type", "x-kubernetes-validations",
})
# upstream accepts these; nodelab does not implement them (refused by name)
UNSERVED = ("patternProperties", "additionalItems",
            "dependencies", "definitions", "id", "$schema", "$ref")
METADATA_FIELDS = ("name", "generateName")


def check(errors: FieldErrors, schema: Any, path: str,
          suppress_expression_cost: bool = False) -> None:
    """Every structural error and refused keyword of a version's `openAPIV3Schema`
    (`suppress_expression_cost`: an update left the schema as it was, its rules' costs count
    only towards the schema's total, as upstream's)."""
    if not isinstance(schema, dict):
        errors.invalid(path, schema, "must be an object")
        return
    if schema.get("type") != "object":
        if not schema.get("type"):
            errors.required(f"{path}.type", "must not be empty at the root")
        else:
            errors.invalid(f"{path}.type", schema["type"], "must be object at the root")
    metadata = (schema.get("properties") or {}).get("metadata")
    if isinstance(metadata, dict):
        meta_path = f"{path}.properties[metadata]"
        if set(metadata) - {"type", "properties", "description"} or set(
                metadata.get("properties") or {}) - set(METADATA_FIELDS):
            errors.forbidden(meta_path, "must not specify anything other than name and "
                             "generateName, but metadata is implicitly specified")
        if metadata.get("type") not in (None, "object"):
            errors.invalid(f"{meta_path}.type", metadata["type"], "must be object")
    before = len(errors.causes)
    _node(errors, schema, path, root=True)
    if len(errors.causes) == before and "x-kubernetes-validations" in json.dumps(schema):
        from nodelab.controlplane.apiextensions.cel import budget  # noqa: PLC0415 - on demand

        total = budget.TotalCost()
        _rules(errors, schema, path, True, "", 1, total, suppress_expression_cost)
        if total.total > budget.CRD_LIMIT:
            for _, expensive in total.most_expensive:
                errors.forbidden(expensive, budget.CONTRIBUTED)
            errors.forbidden(path, budget.exceeds(
                "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 "
                "schema", total.total, budget.CRD_LIMIT))


def _rules(errors: FieldErrors, schema: dict[str, Any], path: str, resource_root: bool,
           uncorrelatable: str, cardinality: int | None, total: TotalCost,
           suppress_expression_cost: bool) -> None:
    """The CEL rules of every node of a structural schema (`cel.rules.check`);
    `uncorrelatable`: the first list (not `map`) above the node, whose items have no old
    value a transition rule could see (maps, atomic ones too, correlate by key, as upstream's
    MapIsCorrelatable); `cardinality`: how many times the node can occur in an object (None:
    unbounded), for the rules' cost, summed in `total`."""
    from nodelab.controlplane.apiextensions.cel import budget, rules  # noqa: PLC0415

    if "x-kubernetes-validations" in schema:
        rules.check(errors, schema, path, resource_root, uncorrelatable, cardinality, total,
                    suppress_expression_cost)
    below_cardinality = budget.child_cardinality(cardinality, schema)
    children = [(f"{path}.properties[{name}]", child, uncorrelatable)
                for name, child in (schema.get("properties") or {}).items()]
    if isinstance(schema.get("items"), dict):
        below = uncorrelatable or (
            path if schema.get("x-kubernetes-list-type") != "map" else "")
        children.append((f"{path}.items", schema["items"], below))
    if isinstance(schema.get("additionalProperties"), dict):  # every map correlates by key
        children.append((f"{path}.additionalProperties", schema["additionalProperties"],
                         uncorrelatable))
    for where, child, below in children:
        if isinstance(child, dict) and "x-kubernetes-validations" in json.dumps(child):
            _rules(errors, child, where, child.get("x-kubernetes-embedded-resource") is True,
                   below, below_cardinality, total, suppress_expression_cost)


def _node(errors: FieldErrors, schema: dict[str, Any], path: str, root: bool = False,
          in_value: bool = False) -> None:
    for key in schema:
        if key == "$ref":
            errors.forbidden(f"{path}.$ref", "$ref is not supported")
        elif key in UNSERVED or key not in SERVED:
            errors.forbidden(f"{path}.{key}", NOT_SUPPORTED)
    kind = schema.get("type")
    for flag in ("x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string"):
        if schema.get(flag, True) is not True:
            errors.invalid(f"{path}.{flag}", schema[flag], "must be true or undefined")
    preserves = schema.get("x-kubernetes-preserve-unknown-fields") is True
    int_or_string = schema.get("x-kubernetes-int-or-string") is True
    if kind is not None and kind not in TYPES:
        errors.unsupported(f"{path}.type", kind, list(TYPES))
    if not kind and not preserves and not int_or_string and not in_value:
        if "properties" in schema or "additionalProperties" in schema:
            errors.required(f"{path}.type", "must not be empty for specified object fields")
        elif "items" in schema:
            errors.required(f"{path}.type", "must not be empty for specified array items")
        elif not root:
            errors.required(f"{path}.type", "must not be empty for specified object fields")
    if int_or_string and kind:
        errors.forbidden(f"{path}.type", "must be empty to be structural if "
                         "x-kubernetes-int-or-string is true")
    if kind == "array" and "items" not in schema:
        errors.required(f"{path}.items", "must be specified")
    if "pattern" in schema and (why := schema_checks.pattern_error(schema["pattern"])):
        errors.invalid(f"{path}.pattern", schema["pattern"],
                       f"must be a valid regular expression, but isn't: {why}")
    if schema.get("uniqueItems") is True:
        errors.forbidden(f"{path}.uniqueItems", "uniqueItems cannot be set to true since the "
                         "runtime complexity becomes quadratic")
    if schema.get("x-kubernetes-embedded-resource") is True and kind != "object":
        errors.invalid(f"{path}.type", kind, "must be object if "
                       "x-kubernetes-embedded-resource is true")
    additional = schema.get("additionalProperties")
    if schema.get("properties") and additional is not None and additional is not True:
        errors.forbidden(f"{path}.additionalProperties",
                         "additionalProperties and properties are mutual exclusive")
    if isinstance(additional, dict):
        _node(errors, additional, f"{path}.additionalProperties")
    for name, child in (schema.get("properties") or {}).items():
        if isinstance(child, dict):
            _node(errors, child, f"{path}.properties[{name}]")
    items = schema.get("items")
    if isinstance(items, dict):
        _node(errors, items, f"{path}.items")
    elif items is not None:
        errors.forbidden(f"{path}.items", "items must be a schema object and not an array")
    for key in ("allOf", "anyOf", "oneOf"):
        for i, child in enumerate(schema.get(key) or []):
            if isinstance(child, dict):
                _value_validation(errors, child, f"{path}.{key}[{i}]", int_or_string)
    if isinstance(schema.get("not"), dict):
        _value_validation(errors, schema["not"], f"{path}.not")
    _list_type(errors, schema, path)
    if "default" in schema:
        _default(errors, schema, path)


def _default(errors: FieldErrors, schema: dict[str, Any], path: str) -> None:
    """A default must itself be valid under its schema and have no field pruning would drop
    (upstream validates defaults when the CRD is written, not when an object would get one)."""
    if path.endswith("openAPIV3Schema"):
        errors.forbidden(f"{path}.default", "must not be set at the root")
        return
    if pruning.unknown_fields(schema, schema["default"]):  # upstream's pruned-defaults check
        as_go = json.loads(json.dumps(schema["default"], sort_keys=True))  # a Go map's order
        errors.invalid(f"{path}.default", as_go, "must not have unknown fields")
    for cause in schema_checks.check_value(schema, schema["default"], f"{path}.default"):
        errors.causes.append(cause)


# inside allOf/anyOf/oneOf/not: what upstream's validateNestedValueValidation forbids, and how
_NESTED_FORBIDDEN = (
    ("type", "must be empty"), ("additionalProperties", "must be undefined"),
    ("default", "must be undefined"), ("title", "must be empty"),
    ("description", "must be empty"), ("nullable", "must be false"),
    ("x-kubernetes-preserve-unknown-fields", "must be false"),
    ("x-kubernetes-embedded-resource", "must be false"),
    ("x-kubernetes-int-or-string", "must be false"),
    ("x-kubernetes-list-map-keys", "must be empty"),
    ("x-kubernetes-list-type", "must be undefined"),
    ("x-kubernetes-map-type", "must be undefined"),
    ("x-kubernetes-validations", "must be empty"),
)


def _value_validation(errors: FieldErrors, schema: dict[str, Any], path: str,
                      int_or_string: bool = False) -> None:
    """Inside allOf/anyOf/oneOf/not a schema only validates (upstream's
    validateNestedValueValidation): no types, defaults, descriptions, extensions or CEL rules
    of its own ("must be empty to be structural": upstream's CRDs never allow
    `x-kubernetes-validations` there), except the `{type: integer}` and `{type: string}` of an
    `x-kubernetes-int-or-string` field, as controller-gen writes them (`anyOf: [{type:
    integer}, {type: string}]`, also inside an `allOf`)."""
    for key in ("anyOf", "allOf", "oneOf"):
        for i, child in enumerate(schema.get(key) or []):
            if isinstance(child, dict):
                _value_validation(errors, child, f"{path}.{key}[{i}]", int_or_string)
    if isinstance(schema.get("not"), dict):
        _value_validation(errors, schema["not"], f"{path}.not")
    if isinstance(schema.get("items"), dict):
        _value_validation(errors, schema["items"], f"{path}.items")
    for name, child in (schema.get("properties") or {}).items():
        if isinstance(child, dict):
            _value_validation(errors, child, f"{path}.properties[{name}]")
    for key, rule in _NESTED_FORBIDDEN:
        value = schema.get(key)
        if key == "type" and int_or_string and value in ("integer", "string"):
            continue
        if value is not None and value is not False and value != [] and value != "":
            errors.forbidden(f"{path}.{key}", f"{rule} to be structural")
    for key in schema:
        if key not in SERVED or key in UNSERVED:
            errors.forbidden(f"{path}.{key}", NOT_SUPPORTED)
    if "metadata" in (schema.get("properties") or {}):
        errors.forbidden(f"{path}.properties[metadata]",
                         "must not be specified in a nested context")


def _list_type(errors: FieldErrors, schema: dict[str, Any], path: str) -> None:
    list_type = schema.get("x-kubernetes-list-type")
    if list_type is None:
        if "x-kubernetes-list-map-keys" in schema:
            errors.forbidden(f"{path}.x-kubernetes-list-map-keys",
                             'must be empty if x-kubernetes-list-type is not "map"')
        return
    if schema.get("type") != "array":
        errors.invalid(f"{path}.x-kubernetes-list-type", list_type,
                       "must only be used if type is array")
    if list_type not in ("atomic", "set", "map"):
        errors.unsupported(f"{path}.x-kubernetes-list-type", list_type,
                           ["atomic", "map", "set"])
    if list_type == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or []
        if not keys:
            errors.required(f"{path}.x-kubernetes-list-map-keys",
                            'must not be empty if x-kubernetes-list-type is "map"')
        items = schema.get("items") or {}
        if items.get("type") != "object":
            errors.invalid(f"{path}.items.type", items.get("type", ""),
                           "must be object if parent array's x-kubernetes-list-type is map")
        else:
            _map_keys(errors, keys, items, path)
    elif "x-kubernetes-list-map-keys" in schema:
        errors.forbidden(f"{path}.x-kubernetes-list-map-keys",
                         'must be empty if x-kubernetes-list-type is not "map"')
    _map_and_set_items(errors, schema, list_type, path)


def _map_keys(errors: FieldErrors, keys: list[Any], items: dict[str, Any], path: str) -> None:
    """Each key names a scalar property of the items, once."""
    seen: set[Any] = set()
    for key in keys:
        prop = (items.get("properties") or {}).get(key)
        if prop is None:
            errors.invalid(f"{path}.x-kubernetes-list-map-keys", keys,
                           "entries must all be names of item properties")
        elif prop.get("type") in ("array", "object"):
            errors.invalid(f"{path}.items.properties[{key}].type", items.get("type"),
                           "must be a scalar type if parent array's x-kubernetes-list-type is "
                           "map")
        if key in seen:
            errors.invalid(f"{path}.x-kubernetes-list-map-keys", keys,
                           "must not contain duplicate entries")
        seen.add(key)


def _map_and_set_items(errors: FieldErrors, schema: dict[str, Any], list_type: Any,
                       path: str) -> None:
    """Upstream's validateMapListKeysMapSet (for every CRD written since 1.19's structural
    defaulting): items of a set or map list are never null, and every map key is present in
    every item, because it is required or has a default (and is not nullable)."""
    items = schema.get("items")
    if list_type not in ("set", "map") or not isinstance(items, dict):
        return
    if items.get("nullable"):
        errors.forbidden(f"{path}.items.nullable",
                         f"cannot be nullable when x-kubernetes-list-type is {list_type}")
    if list_type != "map":
        return
    required = set(items.get("required") or [])
    for key in schema.get("x-kubernetes-list-map-keys") or []:
        prop = (items.get("properties") or {}).get(key)
        if not isinstance(prop, dict):
            continue  # named above: entries must all be names of item properties
        where = f"{path}.items.properties[{key}]"
        if key not in required and "default" not in prop:
            errors.required(f"{where}.default", "this property is in x-kubernetes-list-map-keys, "
                            "so it must have a default or be a required property")
        if prop.get("nullable"):
            errors.forbidden(f"{where}.nullable", "this property is in "
                             "x-kubernetes-list-map-keys, so it cannot be nullable")
