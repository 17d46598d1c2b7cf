"""Deployment and ReplicaSet validation: selector, template, replicas and rollout strategy."""

from __future__ import annotations

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.pod_templates import validate_selector_and_template
from nodelab.controlplane.validation.pods import validate_pod_spec
from nodelab.kube.intstr import int_or_percent_value
from nodelab.kube.objects import Object


def _replicated_spec(errors: FieldErrors, obj: Object) -> tuple[Object, Object, Object] | None:
    """(spec, template, template labels) of a replicated workload, its counts checked."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errors.required("spec")
        return None
    errors.non_negative("spec.replicas", spec.get("replicas"))
    errors.non_negative("spec.minReadySeconds", spec.get("minReadySeconds"))
    template: Object = spec["template"] if isinstance(spec.get("template"), dict) else {}
    return spec, template, (template.get("metadata") or {}).get("labels") or {}


def _replicated_template(errors: FieldErrors, template: Object) -> bool:
    """The pod template of a replicated workload: present, valid, restartPolicy Always."""
    if not template:
        errors.required("spec.template")
        return False
    pod_spec = template.get("spec")
    validate_pod_spec(errors, pod_spec, "spec.template.spec")
    if isinstance(pod_spec, dict) and pod_spec.get("restartPolicy") not in ("Always", None):
        errors.unsupported("spec.template.spec.restartPolicy", pod_spec.get("restartPolicy"),
                           ["Always"])
    return True


def validate_workload(errors: FieldErrors, obj: Object, kind: str) -> None:
    parsed = _replicated_spec(errors, obj)
    if parsed is None:
        return
    spec, template, _labels = parsed
    validate_selector_and_template(errors, spec, "spec", ["Always"],
                                   empty_selector="empty selector is invalid for deployment")
    if not template:
        return
    if kind != "Deployment":
        return
    errors.non_negative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    errors.non_negative("spec.progressDeadlineSeconds", spec.get("progressDeadlineSeconds"))
    strategy = spec.get("strategy") or {}
    stype = strategy.get("type")
    if stype not in ("Recreate", "RollingUpdate"):
        errors.unsupported("spec.strategy.type", stype, ["Recreate", "RollingUpdate"])
    rolling = strategy.get("rollingUpdate")
    if stype == "Recreate" and rolling:
        errors.forbidden("spec.strategy.rollingUpdate",
                         "may not be specified when strategy `type` is 'Recreate'")
    if stype == "RollingUpdate" and isinstance(rolling, dict):
        _validate_rolling_update(errors, rolling, "spec.strategy.rollingUpdate")


def _validate_rolling_update(errors: FieldErrors, rolling: Object, path: str) -> None:
    """`ValidateRollingUpdateDeployment`: each an int or percent, not both 0, maxUnavailable
    not over 100%."""
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    errors.int_or_percent(f"{path}.maxUnavailable", unavailable)
    errors.int_or_percent(f"{path}.maxSurge", surge)
    if int_or_percent_value(unavailable) == 0 and int_or_percent_value(surge) == 0:
        errors.invalid(f"{path}.maxUnavailable", 0 if unavailable is None else unavailable,
                       "may not be 0 when `maxSurge` is 0")
    errors.not_over_100_percent(f"{path}.maxUnavailable", unavailable)


def validate_workload_update(errors: FieldErrors, new: Object, old: Object, kind: str) -> None:
    validate_workload(errors, new, kind)
    if (new.get("spec") or {}).get("selector") != (old.get("spec") or {}).get("selector"):
        errors.invalid("spec.selector", (new.get("spec") or {}).get("selector"),
                       "field is immutable")


def validate_replicationcontroller(errors: FieldErrors, obj: Object,
                                   old: Object | None = None) -> None:
    """core/v1 ReplicationController: a plain-map selector that must match the template."""
    parsed = _replicated_spec(errors, obj)
    if parsed is None:
        return
    spec, template, labels = parsed
    selector = spec.get("selector")
    if not isinstance(selector, dict) or not selector:
        errors.required("spec.selector")
    else:
        errors.labels("spec.selector", selector)
        if any(labels.get(k) != v for k, v in selector.items()):
            errors.invalid("spec.template.metadata.labels", labels,
                           "`selector` does not match template `labels`")
    _replicated_template(errors, template)
