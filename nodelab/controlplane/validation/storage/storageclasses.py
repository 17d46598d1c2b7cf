"""StorageClass validation (upstream's pkg/apis/storage/validation) and the default class.

A class names its `provisioner` (a qualified name), has at most 512 `parameters` totalling
256 KiB, a `reclaimPolicy` of Delete or Retain and a `volumeBindingMode` of Immediate or
WaitForFirstConsumer (both defaulted). Its provisioner, parameters, reclaim policy and binding
mode never change. A class is the default when annotated
`storageclass.kubernetes.io/is-default-class: "true"` (or the beta annotation), as upstream's
IsDefaultAnnotation.
"""

from __future__ import annotations

from typing import Any

from nodelab.controlplane.errors import Cause
from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.kube.objects import Object
from nodelab.kube.pod.fields import MESSAGE as NOT_SUPPORTED

RECLAIM_POLICIES = ["Delete", "Retain"]
BINDING_MODES = ["Immediate", "WaitForFirstConsumer"]
MAX_PARAMETERS = 512
MAX_PARAMETERS_SIZE = 256 * 1024
DEFAULT_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"


def is_default(storage_class: Object) -> bool:
    annotations = (storage_class.get("metadata") or {}).get("annotations") or {}
    return annotations.get(DEFAULT_ANNOTATION) == "true" or \
        annotations.get(BETA_DEFAULT_ANNOTATION) == "true"


def _parameters(errors: FieldErrors, parameters: Any) -> None:
    if not isinstance(parameters, dict):
        return
    if len(parameters) > MAX_PARAMETERS:
        errors.causes.append(Cause("parameters", "FieldValueTooMany", f"Too many: "
                                   f"{len(parameters)}: must have at most {MAX_PARAMETERS} items"))
        return
    size = 0
    for key, value in parameters.items():
        if not key:
            errors.invalid("parameters", key, "field can not be empty.")
        size += len(key) + len(str(value))
    if size > MAX_PARAMETERS_SIZE:
        errors.too_long("parameters", MAX_PARAMETERS_SIZE)


def validate_storageclass(errors: FieldErrors, sc: Object) -> None:
    provisioner = sc.get("provisioner")
    if not provisioner:
        errors.required("provisioner")
    else:
        errors.qualified_name("provisioner", str(provisioner).lower())
    _parameters(errors, sc.get("parameters"))
    policy = sc.get("reclaimPolicy")
    if policy not in RECLAIM_POLICIES:
        errors.unsupported("reclaimPolicy", policy, RECLAIM_POLICIES)
    mode = sc.get("volumeBindingMode")
    if mode is None:
        errors.required("volumeBindingMode")
    elif mode not in BINDING_MODES:
        errors.unsupported("volumeBindingMode", mode, BINDING_MODES)
    for i, term in enumerate(sc.get("allowedTopologies") or []):
        expressions = (term or {}).get("matchLabelExpressions") if isinstance(term, dict) \
            else None
        if not expressions:
            errors.required(f"allowedTopologies[{i}].matchLabelExpressions",
                            "must have at least one label expression")
        for j, expression in enumerate(expressions or []):
            expression = expression if isinstance(expression, dict) else {}
            where = f"allowedTopologies[{i}].matchLabelExpressions[{j}]"
            errors.qualified_name(f"{where}.key", expression.get("key", ""))
            if not expression.get("values"):
                errors.required(f"{where}.values", "must specify as least one value")
    if sc.get("mountOptions"):
        errors.forbidden("mountOptions", NOT_SUPPORTED)


def validate_storageclass_update(errors: FieldErrors, new: Object, old: Object) -> None:
    validate_storageclass(errors, new)
    if (new.get("parameters") or {}) != (old.get("parameters") or {}):
        errors.forbidden("parameters", "updates to parameters are forbidden.")
    if new.get("provisioner") != old.get("provisioner"):
        errors.forbidden("provisioner", "updates to provisioner are forbidden.")
    if new.get("reclaimPolicy") != old.get("reclaimPolicy"):
        errors.forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden.")
    if new.get("volumeBindingMode") != old.get("volumeBindingMode"):
        errors.invalid("volumeBindingMode", new.get("volumeBindingMode"), "field is immutable")
