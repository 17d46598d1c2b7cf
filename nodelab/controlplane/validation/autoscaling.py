"""HorizontalPodAutoscaler validation (autoscaling/v2), as upstream's
`ValidateHorizontalPodAutoscaler`: a scale target with kind and name, `minReplicas` at least 1
(0 needs the HPAScaleToZero gate, off by default), `maxReplicas` at least 1 and not below
`minReplicas`, each metric of a known type with its source, each Resource metric's target
(`Utilization` with a positive `averageUtilization`, or `AverageValue`), and the behavior's
windows (0-3600 s), policies (positive values, periods 1-1800 s) and select policies.
"""

from __future__ import annotations

from typing import Any

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.kube.objects import Object

SOURCES = {"Object": "object", "Pods": "pods", "Resource": "resource",
           "ContainerResource": "containerResource", "External": "external"}


def _behavior(errors: FieldErrors, rules: Any, where: str) -> None:
    if not isinstance(rules, dict):
        return
    window = rules.get("stabilizationWindowSeconds")
    if window is not None and not (isinstance(window, int) and 0 <= window <= 3600):
        errors.invalid(f"{where}.stabilizationWindowSeconds", window,
                       "must be less than or equal to 3600")
    select = rules.get("selectPolicy")
    if select is not None and select not in ("Max", "Min", "Disabled"):
        errors.unsupported(f"{where}.selectPolicy", select, ["Disabled", "Max", "Min"])
    for i, policy in enumerate(rules.get("policies") or []):
        at = f"{where}.policies[{i}]"
        if policy.get("type") not in ("Pods", "Percent"):
            errors.unsupported(f"{at}.type", policy.get("type"), ["Percent", "Pods"])
        value = policy.get("value")
        if not isinstance(value, int) or value <= 0:
            errors.invalid(f"{at}.value", value, "must be greater than zero")
        period = policy.get("periodSeconds")
        if not isinstance(period, int) or not 0 < period <= 1800:
            errors.invalid(f"{at}.periodSeconds", period,
                           "must be greater than zero and less than or equal to 1800")


def validate_hpa(errors: FieldErrors, obj: Object) -> None:
    spec = obj.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    if not ref.get("kind"):
        errors.required("spec.scaleTargetRef.kind")
    if not ref.get("name"):
        errors.required("spec.scaleTargetRef.name")
    minimum = spec.get("minReplicas", 1)
    if not isinstance(minimum, int) or minimum < 1:
        errors.invalid("spec.minReplicas", minimum, "must be greater than or equal to 1")
    maximum = spec.get("maxReplicas")
    if not isinstance(maximum, int) or maximum < 1:
        errors.invalid("spec.maxReplicas", maximum, "must be greater than 0")
    elif isinstance(minimum, int) and maximum < minimum:
        errors.invalid("spec.maxReplicas", maximum,
                       "must be greater than or equal to `minReplicas`")
    for i, metric in enumerate(spec.get("metrics") or []):
        at = f"spec.metrics[{i}]"
        kind = metric.get("type")
        if kind not in SOURCES:
            errors.unsupported(f"{at}.type", kind, sorted(SOURCES))
            continue
        source = metric.get(SOURCES[kind])
        if not isinstance(source, dict):
            errors.required(f"{at}.{SOURCES[kind]}", "must populate information for the "
                                                     "given metric source")
            continue
        if kind == "Resource":
            target = source.get("target") or {}
            if not source.get("name"):
                errors.required(f"{at}.resource.name", "must specify a resource name")
            if target.get("type") == "Utilization":
                value = target.get("averageUtilization")
                if not isinstance(value, int) or value <= 0:
                    errors.invalid(f"{at}.resource.target.averageUtilization", value,
                                   "must be greater than 0")
            elif target.get("type") == "AverageValue":
                if not target.get("averageValue"):
                    errors.required(f"{at}.resource.target.averageValue",
                                    "must set either a target raw value or a target "
                                    "utilization")
            else:
                errors.unsupported(f"{at}.resource.target.type", target.get("type"),
                                   ["AverageValue", "Utilization"])
    behavior = spec.get("behavior") or {}
    _behavior(errors, behavior.get("scaleUp"), "spec.behavior.scaleUp")
    _behavior(errors, behavior.get("scaleDown"), "spec.behavior.scaleDown")
