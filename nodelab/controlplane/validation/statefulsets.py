"""StatefulSet validation (upstream's pkg/apis/apps/validation `ValidateStatefulSet*`).

`volumeClaimTemplates` are refused: the lab has no storage provisioner, so claims made from
them would stay Pending forever and their pods with them (claims bound to PersistentVolumes
made by hand work, named in the pod template). Only `maxUnavailable: 1` (the
default) is taken for rolling updates.
"""

from __future__ import annotations

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.pod_templates import validate_selector_and_template
from nodelab.kube.intstr import int_or_percent_value
from nodelab.kube.objects import Object

MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
           "persistentVolumeClaimRetentionPolicy", "minReadySeconds")


def validate_statefulset(errors: FieldErrors, obj: Object) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errors.required("spec")
        return
    for key in ("replicas", "minReadySeconds", "revisionHistoryLimit"):
        errors.non_negative(f"spec.{key}", spec.get(key))
    errors.non_negative("spec.ordinals.start", (spec.get("ordinals") or {}).get("start"))
    if spec.get("volumeClaimTemplates"):
        errors.forbidden("spec.volumeClaimTemplates",
                         "nodelab has no storage provisioner, so the StatefulSet controller "
                         "makes no claims from templates; create PersistentVolumes and "
                         "PersistentVolumeClaims and name a claim in the pod template, or use "
                         "emptyDir or hostPath volumes")
    policy = spec.get("podManagementPolicy")
    if policy not in ("OrderedReady", "Parallel"):
        errors.unsupported("spec.podManagementPolicy", policy, ["OrderedReady", "Parallel"])
    if spec.get("serviceName"):
        errors.dns1035_label("spec.serviceName", spec["serviceName"])
    strategy = spec.get("updateStrategy") or {}
    kind = strategy.get("type")
    if kind not in ("RollingUpdate", "OnDelete"):
        errors.unsupported("spec.updateStrategy.type", kind, ["OnDelete", "RollingUpdate"])
    rolling = strategy.get("rollingUpdate")
    if kind == "OnDelete" and rolling:
        errors.invalid("spec.updateStrategy.rollingUpdate", rolling,
                       "only allowed for updateStrategy 'RollingUpdate'")
    if isinstance(rolling, dict):
        errors.non_negative("spec.updateStrategy.rollingUpdate.partition",
                            rolling.get("partition"))
        _validate_max_unavailable(errors, rolling.get("maxUnavailable"),
                                  "spec.updateStrategy.rollingUpdate.maxUnavailable")
    validate_selector_and_template(errors, spec, "spec", ["Always"])


def _validate_max_unavailable(errors: FieldErrors, value: object, path: str) -> None:
    """`validateRollingUpdateStatefulSet`'s maxUnavailable (an int or percent, not 0, not over
    100%); a valid value other than 1 is then refused: nodelab updates one pod at a time."""
    if value is None:
        return
    before = len(errors.causes)
    errors.int_or_percent(path, value)
    if int_or_percent_value(value) == 0:
        errors.invalid(path, value, "cannot be 0")
    errors.not_over_100_percent(path, value)
    if len(errors.causes) == before and value != 1:
        errors.forbidden(path, "nodelab's StatefulSet controller updates one pod at a time; "
                               "leave it unset or 1")


def validate_statefulset_update(errors: FieldErrors, new: Object, old: Object) -> None:
    validate_statefulset(errors, new)
    spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    changed = [k for k in set(spec) | set(old_spec) if k not in MUTABLE
               and spec.get(k) != old_spec.get(k)]
    if changed:
        errors.forbidden("spec", "updates to statefulset spec for fields other than "
                                 "'replicas', 'ordinals', 'template', 'updateStrategy', "
                                 "'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' "
                                 "and 'minReadySeconds' are forbidden")
