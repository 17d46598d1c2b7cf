"""DaemonSet and ControllerRevision validation (upstream's pkg/apis/apps/validation)."""

from __future__ import annotations

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.pod_templates import validate_selector_and_template
from nodelab.kube.intstr import int_or_percent_value
from nodelab.kube.objects import Object


def validate_daemonset(errors: FieldErrors, obj: Object) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errors.required("spec")
        return
    errors.non_negative("spec.minReadySeconds", spec.get("minReadySeconds"))
    errors.non_negative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    validate_selector_and_template(errors, spec, "spec", ["Always"])
    strategy = spec.get("updateStrategy") or {}
    kind = strategy.get("type")
    if kind not in ("RollingUpdate", "OnDelete"):
        errors.unsupported("spec.updateStrategy.type", kind, ["OnDelete", "RollingUpdate"])
    rolling = strategy.get("rollingUpdate")
    if kind == "OnDelete" and rolling:
        errors.forbidden("spec.updateStrategy.rollingUpdate",
                         "may not be specified when strategy `type` is 'OnDelete'")
    if kind == "RollingUpdate" and isinstance(rolling, dict):
        _validate_rolling_update(errors, rolling, "spec.updateStrategy.rollingUpdate")


def _validate_rolling_update(errors: FieldErrors, rolling: Object, path: str) -> None:
    """`ValidateRollingUpdateDaemonSet`: each an int or percent, neither over 100%, and
    exactly one of them non-zero."""
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    errors.int_or_percent(f"{path}.maxUnavailable", unavailable)
    errors.int_or_percent(f"{path}.maxSurge", surge)
    errors.not_over_100_percent(f"{path}.maxUnavailable", unavailable)
    errors.not_over_100_percent(f"{path}.maxSurge", surge)
    has_unavailable = int_or_percent_value(unavailable) != 0
    has_surge = int_or_percent_value(surge) != 0
    if has_unavailable and has_surge:
        errors.invalid(f"{path}.maxSurge", surge,
                       "may not be set when maxUnavailable is non-zero")
    elif not has_unavailable and not has_surge:
        errors.required(f"{path}.maxUnavailable", "cannot be 0 when maxSurge is 0")


def validate_daemonset_update(errors: FieldErrors, new: Object, old: Object) -> None:
    validate_daemonset(errors, new)
    if (new.get("spec") or {}).get("selector") != (old.get("spec") or {}).get("selector"):
        errors.invalid("spec.selector", (new.get("spec") or {}).get("selector"),
                       "field is immutable")


def validate_controllerrevision(errors: FieldErrors, obj: Object, old: Object | None) -> None:
    revision = obj.get("revision")
    if not isinstance(revision, int) or revision < 0:
        errors.invalid("revision", revision, "must be greater than or equal to 0")
    if old is not None and obj.get("data") != old.get("data"):
        errors.invalid("data", "", "field is immutable")
