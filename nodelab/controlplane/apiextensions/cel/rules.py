"""The `x-kubernetes-validations` of one schema node, checked and compiled (upstream's
`apiextensions/validation` for CRD writes and `schema/cel/compilation.go`).

When a CRD is written every rule must have a `rule` (`Required value: rule is not
specified`), a `message` without line breaks, a `reason` of FieldValueInvalid, Forbidden,
Required or Duplicate, a `fieldPath` that names a field of the schema, `optionalOldSelf` only
with `oldSelf`, and must compile against the node's declared type to a bool (a
`messageExpression` to a string): `compilation failed: ERROR: <input>:1:6: undefined field
'foo'` with cel's caret lines, as upstream's `Invalid value: apiextensions.ValidationRule{...}`.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from nodelab.controlplane.apiextensions.cel import (
    budget,
    cost,
    environment,
    library,
    library_cost,
)
from nodelab.controlplane.apiextensions.cel.decltypes import DeclType, Namer, decl_type
from nodelab.controlplane.errors import Cause
from nodelab.controlplane.validation.fields import FieldErrors

REASONS = ["FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid",
           "FieldValueRequired"]
_STRINGS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_OLD_SELF = re.compile(r"\boldSelf\b")
_CEL_STATUS = re.compile(r"^[A-Z_]+: |\s*\[[A-Z_]+\]$")
_UNDEFINED_FIELD = re.compile(r"(undefined field '[^']*') not found in struct '[^']*'")
# cel-cpp points at has()'s argument, cel-go at the macro's parenthesis
_HAS_ARGUMENT = re.compile(r"<input>:(\d+):(\d+): has\(\) argument must be a field selection\n"
                           r"( \| [^\n]*)\n \| (\.+)\^")
_STRING_OF_CIDR = "found no matching overload for 'string' applied to '(net.CIDR)'"
_UNDECLARED = re.compile(r"undeclared reference to '([^']*)' \(in container ''\)")


@dataclass(frozen=True)
class Compiled:
    """One rule ready to run: its programs (runtime environment) and what it uses."""

    rule: dict[str, Any]
    program: Any
    message_program: Any
    uses_old_self: bool
    optional_old_self: bool
    field_path: str  # normalized, '' for none
    error: str = ""  # why the runtime environment could not compile it (program None)


def uses_old_self(rule: str) -> bool:
    return bool(_OLD_SELF.search(_STRINGS.sub("''", rule)))


def _wrapped(rule: dict[str, Any]) -> str:
    """An `optionalOldSelf` rule with `oldSelf` bound to an optional, as upstream binds it."""
    return (f"cel.bind(oldSelf, {environment.OPTIONAL_HAS_OLD} ? optional.of("
            f"{environment.OPTIONAL_OLD}) : optional.none(), {rule['rule']})")


def strip_status(text: str) -> str:
    """cel-cpp's message without its status code (`INVALID_ARGUMENT: ... [INVALID_ARGUMENT]`)."""
    return _CEL_STATUS.sub("", text.strip())


def rule_label(rule: dict[str, Any]) -> str:
    """How an error names a rule: its message, else its text (`ruleErrorString`)."""
    return str(rule.get("message") or "").strip() or str(rule.get("rule") or "").strip()


def default_message(rule: dict[str, Any]) -> str:
    """The detail of a false rule without messageExpression (`ruleMessageOrDefault`)."""
    message = str(rule.get("message") or "").strip()
    return message or f"failed rule: {rule_label(rule)}"


def cel_error(exc: Exception) -> str:
    """cel-cpp's compile error as cel-go words it (the status code wrapping dropped)."""
    text = strip_status(str(exc))
    text = _UNDEFINED_FIELD.sub(r"\1", text)

    def undeclared(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in library.UNSERVED:
            return (f"undeclared reference to '{name}': the Kubernetes CEL library function "
                    f"{name} is not supported by nodelab")
        return f"undeclared reference to '{name}' (in container '')"

    text = _UNDECLARED.sub(undeclared, text)
    text = text.replace(_STRING_OF_CIDR, f"{_STRING_OF_CIDR}: string() of a CIDR is not "
                        "supported by nodelab (cidr.ip() and cidr.prefixLength() are)")
    return _HAS_ARGUMENT.sub(lambda m: (
        f"<input>:{m.group(1)}:{int(m.group(2)) - 1}: invalid argument to has() macro\n"
        f"{m.group(3)}\n | {m.group(4)[1:]}^"), text)


def go_rule(rule: dict[str, Any]) -> str:
    """The rule as Go's `%#v` prints upstream's internal `apiextensions.ValidationRule`."""
    def text(key: str) -> str:
        return json.dumps(str(rule.get(key) or ""), ensure_ascii=False)

    reason = ("(*apiextensions.FieldValueErrorReason)(nil)" if rule.get("reason") is None
              else f"(*apiextensions.FieldValueErrorReason)({text('reason')})")
    optional = ("(*bool)(nil)" if rule.get("optionalOldSelf") is None
                else f"(*bool)({str(bool(rule['optionalOldSelf'])).lower()})")
    return (f"apiextensions.ValidationRule{{Rule:{text('rule')}, Message:{text('message')}, "
            f"MessageExpression:{text('messageExpression')}, Reason:{reason}, "
            f"FieldPath:{text('fieldPath')}, OptionalOldSelf:{optional}}}")


def check(errors: FieldErrors, schema: dict[str, Any], path: str, resource_root: bool,
          uncorrelatable: str = "", cardinality: int | None = 1,
          total: budget.TotalCost | None = None, suppress_expression_cost: bool = False
          ) -> None:
    """Every problem of the `x-kubernetes-validations` of the node `schema` at `path`
    (below the list `uncorrelatable`, a rule may not use `oldSelf`; the node occurs at most
    `cardinality` times in an object, None: unbounded; each rule's cost is added to
    `total`, and held to the per-expression limit unless `suppress_expression_cost`)."""
    rules = schema.get("x-kubernetes-validations")
    where = f"{path}.x-kubernetes-validations"
    if not isinstance(rules, list):
        errors.invalid(where, rules, "must be a list of validation rules")
        return
    env: Any = None
    limit = library_cost.MAX if suppress_expression_cost else budget.EXPRESSION_LIMIT
    for i, rule in enumerate(rules):
        at = f"{where}[{i}]"
        if not isinstance(rule, dict):
            errors.invalid(at, rule, "must be an object")
            continue
        if not _shape(errors, schema, rule, at):
            continue
        if env is None:
            try:
                env = _checking_env(json.dumps(schema, sort_keys=True), resource_root)
            except environment.Unavailable as exc:
                errors.forbidden(where, str(exc))
                return
        _compile_check(errors, env, rule, at, cardinality,
                       total if total is not None else budget.TotalCost(), limit)
        if uncorrelatable and uses_old_self(rule["rule"]):
            errors.invalid(f"{at}.rule", rule["rule"], "oldSelf cannot be used on the "
                           f"uncorrelatable portion of the schema within {uncorrelatable}")


def _shape(errors: FieldErrors, schema: dict[str, Any], rule: dict[str, Any], at: str) -> bool:
    text = rule.get("rule")
    message = rule.get("message")
    expression = rule.get("messageExpression")
    for key in sorted(set(rule) - {"rule", "message", "messageExpression", "reason",
                                   "fieldPath", "optionalOldSelf"}):
        errors.forbidden(f"{at}.{key}", "unknown field")
    if not isinstance(text, str) or not text.strip():
        errors.required(f"{at}.rule", "rule is not specified")
        return False
    if isinstance(message, str) and message and not message.strip():
        errors.invalid(f"{at}.message", message, "message must be non-empty if specified")
    elif isinstance(message, str) and "\n" in message.strip():
        errors.invalid(f"{at}.message", message, "message must not contain line breaks")
    elif "\n" in text.strip() and not str(message or "").strip() and not str(
            expression or "").strip():
        errors.required(f"{at}.message",
                        "message must be specified if rule contains line breaks")
    if isinstance(expression, str) and expression and not expression.strip():
        errors.required(f"{at}.messageExpression",
                        "messageExpression must be non-empty if specified")
    reason = rule.get("reason")
    if reason is not None and reason not in REASONS:
        errors.unsupported(f"{at}.reason", reason, REASONS)
    field_path = rule.get("fieldPath")
    if isinstance(field_path, str) and field_path:
        if not field_path.strip():
            errors.invalid(f"{at}.fieldPath", field_path,
                           "fieldPath must be non-empty if specified")
        elif "\n" in field_path:
            errors.invalid(f"{at}.fieldPath", field_path,
                           "fieldPath must not contain line breaks")
        elif normalized_field_path(schema, field_path) is None:
            errors.invalid(f"{at}.fieldPath", field_path, "fieldPath must be a valid path")
    if rule.get("optionalOldSelf") is True and not uses_old_self(text):
        errors.invalid(f"{at}.optionalOldSelf", True,
                       "may not be set if oldSelf is not used in rule")
    return True


_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\['((?:[^'\\]|\\.)*)'\]")


def normalized_field_path(schema: dict[str, Any], field_path: str) -> str | None:
    """`fieldPath` (`.spec.foo`, `.spec['a.b']`) as the field path of its errors, or None
    when it does not name a field of `schema` (upstream's `ValidFieldPath`)."""
    parts: list[str] = []
    position = 0
    node: Any = schema
    while position < len(field_path):
        match = _PATH_TOKEN.match(field_path, position)
        if match is None or not isinstance(node, dict):
            return None
        name = match.group(1) if match.group(1) is not None else re.sub(
            r"\\(.)", r"\1", match.group(2))
        position = match.end()
        if node.get("properties"):
            if name not in node["properties"]:
                return None
            node = node["properties"][name]
            parts.append(("." if parts else "") + name)
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
            parts.append(f"[{name}]")
        else:
            return None
    return "".join(parts)


@functools.lru_cache(maxsize=128)
def _checking_env(schema_json: str, resource_root: bool) -> tuple[Any, DeclType]:
    decl = decl_type(json.loads(schema_json), resource_root, Namer())
    if decl is None:
        raise environment.Unavailable("the schema of this node has no CEL type")
    return environment.checking_env(decl), decl


def _compile_check(errors: FieldErrors, env: tuple[Any, DeclType], rule: dict[str, Any],
                   at: str, cardinality: int | None, total: budget.TotalCost,
                   limit: int) -> None:
    """Compile the rule and its messageExpression, and hold each to the cost limit: the rule
    times how often its node can occur, the messageExpression once (`getExpressionCost`)."""
    source = _wrapped(rule) if rule.get("optionalOldSelf") is True else rule["rule"]
    sizes = library_cost.SizeEstimator(env[1])
    expression = _compile_checked(errors, env[0], rule, source, f"{at}.rule")
    if expression is None:
        return
    checked = cost.checked(expression.serialize())
    if _refuse_unserved(errors, rule, checked, f"{at}.rule", ""):
        return
    spent = budget.rule_cost(cost.estimate(checked, sizes)[1], cardinality, env[1].min_size)
    if spent > limit:
        errors.forbidden(f"{at}.rule", budget.exceeds("estimated rule cost", spent,
                                                      budget.EXPRESSION_LIMIT))
    total.observe(f"{at}.rule", spent)
    _returns(errors, rule, expression, f"{at}.rule", "bool", "")
    message = rule.get("messageExpression")
    if not isinstance(message, str) or not message.strip():
        return
    expression = _compile_checked(errors, env[0], rule, message, f"{at}.messageExpression",
                                  "messageExpression ")
    if expression is None:
        return
    checked = cost.checked(expression.serialize())
    if _refuse_unserved(errors, rule, checked, f"{at}.messageExpression", "messageExpression "):
        return
    spent = cost.estimate(checked, sizes)[1]
    if spent > limit:
        errors.forbidden(f"{at}.messageExpression", budget.exceeds(
            "estimated messageExpression cost", spent, budget.EXPRESSION_LIMIT))
    total.observe(f"{at}.messageExpression", spent)
    _returns(errors, rule, expression, f"{at}.messageExpression", "string",
             "messageExpression ")


def _compile_checked(errors: FieldErrors, env: Any, rule: dict[str, Any], text: str,
                     field: str, what: str = "") -> Any:
    """`text` (the rule, or its messageExpression: `what`) compiled, None (and a cause at
    `field`) when it does not."""
    try:
        return env.compile(text)
    except RuntimeError as exc:
        errors.causes.append(Cause(field, "FieldValueInvalid",
                                   f"Invalid value: {go_rule(rule)}: {what}compilation failed: "
                                   f"{cel_error(exc)}"))
        return None


def _refuse_unserved(errors: FieldErrors, rule: dict[str, Any], checked: Any, field: str,
                     what: str) -> bool:
    """A cause at `field` when the checked expression calls what cel-cpp declares but cannot
    run (`library.UNSERVED_CALLS`), True then."""
    names = {ref.name for ref in checked.reference_map.values()}
    for call, named in library.UNSERVED_CALLS.items():
        if call in names:
            errors.causes.append(Cause(field, "FieldValueInvalid", (
                f"Invalid value: {go_rule(rule)}: {what}compilation failed: {named} "
                "not supported by nodelab")))
            return True
    return False


def _returns(errors: FieldErrors, rule: dict[str, Any], expression: Any, field: str,
             wanted: str, what: str) -> None:
    """A cause at `field` unless `expression` evaluates to `wanted` (or dyn)."""
    if expression.return_type().name().lower() not in (wanted, "dyn"):
        errors.causes.append(Cause(field, "FieldValueInvalid",
                                   f"Invalid value: {go_rule(rule)}: "
                                   f"{what or 'cel expression '}must evaluate to a {wanted}"))


@functools.lru_cache(maxsize=512)
def compiled(schema_json: str) -> tuple[Compiled, ...]:
    """The rules of a node (already checked when its CRD was written), in the runtime
    environment."""
    schema = json.loads(schema_json)
    env = environment.runtime_env()
    found = []
    for rule in schema.get("x-kubernetes-validations") or []:
        optional = rule.get("optionalOldSelf") is True
        expression = rule.get("messageExpression")
        field_path = (normalized_field_path(schema, rule["fieldPath"]) or ""
                      if rule.get("fieldPath") else "")
        try:
            program = env.compile(_wrapped(rule) if optional else rule["rule"])
            message = (env.compile(expression) if isinstance(expression, str)
                       and expression.strip() else None)
        except RuntimeError as exc:  # checked when the CRD was written: a stored CRD of old
            found.append(Compiled(rule, None, None, False, optional, field_path,
                                  cel_error(exc)))
            continue
        found.append(Compiled(rule, program, message, uses_old_self(rule["rule"]), optional,
                              field_path))
    return tuple(found)
