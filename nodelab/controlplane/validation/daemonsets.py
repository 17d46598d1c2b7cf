"""DaemonSet and ControllerRevision validation (upstream's pkg/apis/apps/validation)."""

from __future__ import annotations

from typing import Any

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.jobs import validate_selector_and_template
from nodelab.kube.objects import Object


def _int_or_percent(errors: FieldErrors, path: str, value: Any) -> float:
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return float(value[:-1])
    if isinstance(value, int) and value >= 0:
        return float(value)
    errors.invalid(path, value, "must be an integer or percentage (e.g '5%'), greater than or "
                                "equal to 0")
    return -1.0


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
        path = "spec.updateStrategy.rollingUpdate"
        unavailable = _int_or_percent(errors, f"{path}.maxUnavailable",
                                      rolling.get("maxUnavailable", 0))
        surge = _int_or_percent(errors, f"{path}.maxSurge", rolling.get("maxSurge", 0))
        if unavailable == 0 and surge == 0:
            errors.invalid(f"{path}.maxUnavailable", rolling.get("maxUnavailable"),
                           "may not be 0 when `maxSurge` is 0")
        if unavailable > 100 and str(rolling.get("maxUnavailable")).endswith("%"):
            errors.invalid(f"{path}.maxUnavailable", rolling.get("maxUnavailable"),
                           "must not be greater than 100%")


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
