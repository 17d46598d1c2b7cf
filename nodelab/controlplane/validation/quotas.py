"""LimitRange and ResourceQuota validation (upstream's ValidateLimitRange,
ValidateResourceQuota and ValidateResourceQuotaUpdate in pkg/apis/core/validation)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.kube.objects import Object
from nodelab.kube.quantities import InvalidQuantity
from nodelab.kube.quota import names
from nodelab.kube.quota.resource_lists import Quantity

MAX_MILLI = Decimal(2**63 - 1) / 1000


def _resource_name(errors: FieldErrors, path: str, name: str) -> bool:
    """validateResourceName: a qualified name; a name without a domain must be standard."""
    found = len(errors.causes)
    errors.qualified_name(path, name)
    if len(errors.causes) > found:
        return False
    if "/" not in name and not names.is_standard(name):
        errors.invalid(path, name, "must be a standard resource type or fully qualified")
        return False
    return True


def _container_resource_name(errors: FieldErrors, path: str, name: str) -> None:
    """validateContainerResourceName."""
    _resource_name(errors, path, name)
    if "/" not in name:
        if not names.is_standard_container(name):
            errors.invalid(path, name, "must be a standard resource for containers")
    elif not names.is_native(name) and not names.is_extended(name):
        errors.invalid(path, name, "doesn't follow extended resource name standard")


def _quantities(errors: FieldErrors, path: str, values: Any) -> dict[str, Quantity]:
    if values is None:
        return {}
    if not isinstance(values, dict):
        errors.invalid(path, values, "must be a map of quantities")
        return {}
    parsed = {}
    for name, text in values.items():
        try:
            parsed[str(name)] = Quantity.parse(text)
        except InvalidQuantity:
            errors.quantity(f"{path}[{name}]", text)
    return parsed


def validate_limitrange(errors: FieldErrors, obj: Object) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errors.required("spec")
        return
    seen: set[str] = set()
    for i, item in enumerate(spec.get("limits") or []):
        path = f"spec.limits[{i}]"
        if not isinstance(item, dict):
            errors.invalid(path, item, "must be an object")
            continue
        _limit_item(errors, path, item, seen)


def _limit_item(errors: FieldErrors, path: str, item: Object, seen: set[str]) -> None:
    kind = str(item.get("type") or "")
    found = len(errors.causes)
    errors.qualified_name(f"{path}.type", kind)
    if len(errors.causes) == found and "/" not in kind and kind not in names.LIMIT_TYPES:
        errors.invalid(f"{path}.type", kind, "must be a standard limit type or fully qualified")
    if kind in seen:
        errors.duplicate(f"{path}.type", kind)
    seen.add(kind)

    def named(field: str) -> dict[str, Quantity]:
        values = _quantities(errors, f"{path}.{field}", item.get(field))
        for name in values:
            if kind in ("Pod", "Container"):
                _container_resource_name(errors, f"{path}.{field}[{name}]", name)
            else:
                _resource_name(errors, f"{path}.{field}[{name}]", name)
        return values

    maximum, minimum = named("max"), named("min")
    default: dict[str, Quantity] = {}
    request: dict[str, Quantity] = {}
    if kind == "Pod":
        if item.get("default"):
            errors.forbidden(f"{path}.default", "may not be specified when `type` is 'Pod'")
        if item.get("defaultRequest"):
            errors.forbidden(f"{path}.defaultRequest",
                             "may not be specified when `type` is 'Pod'")
    else:
        default, request = named("default"), named("defaultRequest")
    if kind == "PersistentVolumeClaim" and "storage" not in minimum and "storage" not in maximum:
        errors.required(f"{path}.limits", "either minimum or maximum storage value is required, "
                        "but neither was provided")
    ratio = named("maxLimitRequestRatio")
    for name in dict.fromkeys([*maximum, *minimum, *default, *request, *ratio]):
        _limit_bounds(errors, path, name, minimum.get(name), maximum.get(name),
                      default.get(name), request.get(name), ratio.get(name))


def _limit_bounds(errors: FieldErrors, path: str, name: str, minimum: Quantity | None,
                  maximum: Quantity | None, default: Quantity | None, request: Quantity | None,
                  ratio: Quantity | None) -> None:
    if minimum and maximum and minimum.value > maximum.value:
        errors.invalid(f"{path}.min[{name}]", str(minimum),
                       f"min value {minimum} is greater than max value {maximum}")
    if request and minimum and minimum.value > request.value:
        errors.invalid(f"{path}.defaultRequest[{name}]", str(request),
                       f"min value {minimum} is greater than default request value {request}")
    if request and maximum and request.value > maximum.value:
        errors.invalid(f"{path}.defaultRequest[{name}]", str(request),
                       f"default request value {request} is greater than max value {maximum}")
    if request and default and request.value > default.value:
        errors.invalid(f"{path}.defaultRequest[{name}]", str(request),
                       f"default request value {request} is greater than default limit value "
                       f"{default}")
    if default and minimum and minimum.value > default.value:
        errors.invalid(f"{path}.default[{name}]", str(minimum),
                       f"min value {minimum} is greater than default value {default}")
    if default and maximum and default.value > maximum.value:
        errors.invalid(f"{path}.default[{name}]", str(maximum),
                       f"default value {default} is greater than max value {maximum}")
    if ratio and ratio.value < 1:
        errors.invalid(f"{path}.maxLimitRequestRatio[{name}]", str(ratio),
                       f"ratio {ratio} is less than 1")
    if ratio and minimum and maximum:
        low, high, bound = minimum.value, maximum.value, ratio.value
        if all(v < MAX_MILLI for v in (low, high, bound)):
            low, high = _ceil(low * 1000), _ceil(high * 1000)
            bound = _ceil(bound * 1000) / 1000
        else:
            low, high, bound = _ceil(low), _ceil(high), _ceil(bound)
        limit = float(high) / float(low) if low else float("inf")
        if float(bound) > limit:
            errors.invalid(f"{path}.maxLimitRequestRatio[{name}]", str(ratio),
                           f"ratio {ratio} is greater than max/min = {limit:f}")
    if not names.is_overcommit_allowed(name) and default and request and (
            default.value != request.value):
        errors.invalid(f"{path}.defaultRequest[{name}]", str(request),
                       f"default value {default} must equal to defaultRequest value {request} "
                       f"in {name}")


def _ceil(value: Decimal) -> Decimal:
    return value.to_integral_value(rounding="ROUND_CEILING")


def _quota_resources(errors: FieldErrors, path: str, values: Any) -> list[str]:
    """ValidateResourceQuotaResourceName and ValidateResourceQuantityValue for each entry."""
    parsed = _quantities(errors, path, values)
    for name, quantity in parsed.items():
        entry = f"{path}[{name}]"
        _resource_name(errors, entry, name)
        if "/" not in name and not names.is_standard_quota(name):
            errors.invalid(entry, name, "must be a standard resource for quota")
        if quantity.value < 0:
            errors.invalid(entry, str(quantity), "must be greater than or equal to 0")
        if names.is_integer(name) and (quantity.value * 1000) % 1000 != 0:
            errors.invalid(entry, str(quantity), "must be an integer")
    return list(parsed)


def validate_resourcequota(errors: FieldErrors, obj: Object, old: Object | None = None) -> None:
    spec = obj.get("spec") or {}
    if not isinstance(spec, dict):
        errors.invalid("spec", spec, "must be an object")
        return
    hard = _quota_resources(errors, "spec.hard", spec.get("hard"))
    _scopes(errors, spec, hard)
    _scope_selector(errors, spec, hard)
    status = obj.get("status") or {}
    if isinstance(status, dict):
        _quota_resources(errors, "status.hard", status.get("hard"))
        _quota_resources(errors, "status.used", status.get("used"))
    if old is not None:
        old_scopes = set((old.get("spec") or {}).get("scopes") or [])
        if set(spec.get("scopes") or []) != old_scopes:
            errors.invalid("spec.scopes", spec.get("scopes") or [], "field is immutable")


def _scopes(errors: FieldErrors, spec: Object, hard: list[str]) -> None:
    scopes = spec.get("scopes") or []
    if not isinstance(scopes, list):
        errors.invalid("spec.scopes", scopes, "must be a list")
        return
    for scope in scopes:
        if scope not in names.SCOPES:
            errors.invalid("spec.scopes", scopes, "unsupported scope")
        for resource in sorted(hard):
            if names.is_standard_quota(resource) and not names.scope_valid_for(scope, resource):
                errors.invalid("spec.scopes", scopes, "unsupported scope applied to resource")
    if _conflicting(set(scopes)):
        errors.invalid("spec.scopes", scopes, "conflicting scopes")


def _conflicting(scopes: set[Any]) -> bool:
    return {names.BEST_EFFORT, names.NOT_BEST_EFFORT} <= scopes or {
        names.TERMINATING, names.NOT_TERMINATING} <= scopes


def _scope_selector(errors: FieldErrors, spec: Object, hard: list[str]) -> None:
    selector = spec.get("scopeSelector")
    if not isinstance(selector, dict):
        return
    path = "spec.scopeSelector.matchExpressions"
    seen = set()
    for requirement in selector.get("matchExpressions") or []:
        if not isinstance(requirement, dict):
            errors.invalid(path, requirement, "must be an object")
            continue
        scope, operator = requirement.get("scopeName"), requirement.get("operator")
        values = requirement.get("values") or []
        if scope not in names.SCOPES:
            errors.invalid(f"{path}.scopeName", scope, "unsupported scope")
        for resource in sorted(hard):
            if names.is_standard_quota(resource) and not names.scope_valid_for(
                    str(scope), resource):
                errors.invalid(path, selector, "unsupported scope applied to resource")
        if scope in names.EXISTS_ONLY_SCOPES and operator != "Exists":
            errors.invalid(f"{path}.operator", operator,
                           "must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, "
                           "ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, "
                           "ResourceQuotaScopeNotBestEffort or "
                           "ResourceQuotaScopeCrossNamespacePodAffinity")
        if operator in ("In", "NotIn"):
            if not values:
                errors.required(f"{path}.values", "must be at least one value when `operator` "
                                "is 'In' or 'NotIn' for scope selector")
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                errors.invalid(f"{path}.values", values, "must be no value when `operator` is "
                               "'Exist' or 'DoesNotExist' for scope selector")
        else:
            errors.invalid(f"{path}.operator", operator, "not a valid selector operator")
        seen.add(scope)
    if _conflicting(seen):
        errors.invalid(path, selector, "conflicting scopes")
