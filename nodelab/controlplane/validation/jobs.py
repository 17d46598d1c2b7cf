"""Job validation (upstream's pkg/apis/batch/validation): counts, completion mode, restart
policy, podFailurePolicy rules, the selector against the template, and what may not change.

Fields nodelab's Job controller does not implement (`backoffLimitPerIndex`,
`maxFailedIndexes`, `successPolicy`, a `managedBy` other than the built-in controller) are
refused with a 422 naming them, never accepted and ignored.
"""

from __future__ import annotations

from typing import Any

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.pod_templates import validate_selector_and_template
from nodelab.kube.objects import Object

BUILT_IN_MANAGER = "kubernetes.io/job-controller"
ACTIONS = ["Count", "FailIndex", "FailJob", "Ignore"]
UNSUPPORTED = ("backoffLimitPerIndex", "maxFailedIndexes", "successPolicy")


def validate_job_spec(errors: FieldErrors, spec: Any, path: str = "spec",
                      in_template: bool = False) -> None:
    """A Job's spec; `in_template`: a CronJob's jobTemplate, not defaulted and no selector
    yet (the Job made from it gets them)."""
    if not isinstance(spec, dict):
        errors.required(path)
        return
    for key in ("parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished"):
        errors.non_negative(f"{path}.{key}", spec.get(key))
    if spec.get("activeDeadlineSeconds") is not None:
        errors.positive(f"{path}.activeDeadlineSeconds", spec.get("activeDeadlineSeconds"))
    mode = spec.get("completionMode")
    if not (in_template and mode is None) and mode not in ("NonIndexed", "Indexed"):
        errors.unsupported(f"{path}.completionMode", mode, ["NonIndexed", "Indexed"])
    if mode == "Indexed" and spec.get("completions") is None:
        errors.required(f"{path}.completions", "when completion mode is Indexed")
    replacement = spec.get("podReplacementPolicy")
    if not (in_template and replacement is None) and replacement not in (
            "TerminatingOrFailed", "Failed"):
        errors.unsupported(f"{path}.podReplacementPolicy", replacement,
                           ["Failed", "TerminatingOrFailed"])
    for key in UNSUPPORTED:
        if spec.get(key) is not None:
            errors.forbidden(f"{path}.{key}", "nodelab's Job controller does not implement "
                                              "this field; leave it unset")
    if spec.get("managedBy") not in (None, BUILT_IN_MANAGER):
        errors.forbidden(f"{path}.managedBy", f"nodelab has no controller but "
                                              f"{BUILT_IN_MANAGER}; leave it unset")
    if spec.get("podFailurePolicy") and replacement == "TerminatingOrFailed":
        errors.invalid(f"{path}.podReplacementPolicy", replacement,
                       "must be 'Failed' when podFailurePolicy is used")
    pod_spec = validate_selector_and_template(errors, spec, path, ["OnFailure", "Never"],
                                              selector_required=not in_template)
    policy = spec.get("podFailurePolicy")
    if policy is not None:
        if pod_spec is not None and pod_spec.get("restartPolicy") != "Never":
            errors.invalid(f"{path}.template.spec.restartPolicy", pod_spec.get("restartPolicy"),
                           'only "Never" is supported when podFailurePolicy is specified')
        _failure_policy(errors, policy, f"{path}.podFailurePolicy")


def _failure_policy(errors: FieldErrors, policy: Any, path: str) -> None:
    rules = policy.get("rules") if isinstance(policy, dict) else None
    if not isinstance(rules, list):
        errors.required(f"{path}.rules")
        return
    for i, rule in enumerate(rules):
        where = f"{path}.rules[{i}]"
        if not isinstance(rule, dict):
            errors.invalid(where, rule, "must be an object")
            continue
        action = rule.get("action")
        if action not in ACTIONS:
            errors.unsupported(f"{where}.action", action, ACTIONS)
        elif action == "FailIndex":
            errors.forbidden(f"{where}.action",
                             "support for the FailIndex action requires the "
                             "spec.backoffLimitPerIndex to be set")
        codes, conditions = rule.get("onExitCodes"), rule.get("onPodConditions")
        if (codes is None) == (conditions is None):
            errors.invalid(where, rule, "specifying one of onExitCodes and onPodConditions "
                                        "is required")
        if isinstance(codes, dict):
            operator = codes.get("operator")
            if operator not in ("In", "NotIn"):
                errors.unsupported(f"{where}.onExitCodes.operator", operator, ["In", "NotIn"])
            values = codes.get("values")
            if not isinstance(values, list) or not values:
                errors.required(f"{where}.onExitCodes.values")
            else:
                for j, value in enumerate(values):
                    if not isinstance(value, int):
                        errors.invalid(f"{where}.onExitCodes.values[{j}]", value,
                                       "must be an integer")
                    elif operator == "In" and value == 0:
                        errors.invalid(f"{where}.onExitCodes.values[{j}]", value,
                                       "must not be 0 for the In operator")
                    elif value in values[:j]:
                        errors.duplicate(f"{where}.onExitCodes.values[{j}]", value)
        for j, pattern in enumerate(conditions if isinstance(conditions, list) else []):
            if not isinstance(pattern, dict) or not pattern.get("type"):
                errors.required(f"{where}.onPodConditions[{j}].type")
            elif pattern.get("status") not in ("True", "False", "Unknown"):
                errors.unsupported(f"{where}.onPodConditions[{j}].status",
                                   pattern.get("status"), ["True", "False", "Unknown"])


def validate_job(errors: FieldErrors, obj: Object) -> None:
    validate_job_spec(errors, obj.get("spec"))


def validate_job_update(errors: FieldErrors, new: Object, old: Object) -> None:
    validate_job(errors, new)
    spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    for key in ("selector", "completionMode", "podFailurePolicy", "manualSelector",
                "managedBy"):
        if spec.get(key) != old_spec.get(key):
            errors.invalid(f"spec.{key}", spec.get(key), "field is immutable")
    if spec.get("completions") != old_spec.get("completions") and not (
            spec.get("completionMode") == "Indexed"
            and spec.get("completions") == spec.get("parallelism")):
        errors.invalid("spec.completions", spec.get("completions"), "field is immutable")
    if spec.get("template") != old_spec.get("template") and not old_spec.get("suspend"):
        errors.invalid("spec.template", spec.get("template"), "field is immutable")
