"""PersistentVolume and PersistentVolumeClaim validation (upstream's pkg/apis/core/validation:
ValidatePersistentVolume*, ValidatePersistentVolumeClaim*), with upstream's paths and texts.

A PersistentVolume needs a capacity (`storage` only, greater than zero), access modes
(ReadWriteOncePod alone), a reclaim policy of Delete, Recycle or Retain and exactly one volume
source. nodelab's kubelet mounts `hostPath` and `local` volumes (nodes share the host's
file system), so every other source is refused with "not supported by nodelab" naming it, as
are `volumeMode: Block` and `mountOptions` (neither can be honoured by a bind mount). A `local`
volume needs `nodeAffinity` (upstream's rule). After creation the volume source and
`volumeMode` never change (upstream's paths: `spec.persistentvolumesource`, `volumeMode`).

A claim needs access modes and `resources.requests[storage]` greater than zero; its spec never
changes except `volumeName` (set once, by the binder) and, on a bound claim, the storage
request, which may not shrink.
"""

from __future__ import annotations

import copy
from typing import Any

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.label_selectors import label_selector
from nodelab.kube.objects import Object
from nodelab.kube.pod.fields import MESSAGE as NOT_SUPPORTED
from nodelab.kube.quantities import InvalidQuantity, quantity_value

ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
RECLAIM_POLICIES = ["Delete", "Recycle", "Retain"]
VOLUME_MODES = ["Block", "Filesystem"]
HOST_PATH_TYPES = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File",
                   "FileOrCreate", "Socket"]
SERVED_SOURCES = ("hostPath", "local")
# every other PersistentVolumeSource of core/v1, in upstream's order of checking
OTHER_SOURCES = ("gcePersistentDisk", "awsElasticBlockStore", "glusterfs", "flexVolume", "nfs",
                 "rbd", "quobyte", "cinder", "cephfs", "iscsi", "csi", "fc", "flocker",
                 "azureFile", "vsphereVolume", "azureDisk", "photonPersistentDisk",
                 "portworxVolume", "scaleIO", "storageos")
NODE_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")


def access_modes(errors: FieldErrors, path: str, modes: Any) -> None:
    """Each mode supported; ReadWriteOncePod not mixed with another."""
    once_pod = other = False
    for mode in modes if isinstance(modes, list) else []:
        if mode not in ACCESS_MODES:
            errors.unsupported(path, mode, ACCESS_MODES)
        elif mode == "ReadWriteOncePod":
            once_pod = True
        else:
            other = True
    if once_pod and other:
        errors.forbidden(path, "may not use ReadWriteOncePod with other access modes")


def positive_quantity(errors: FieldErrors, path: str, value: Any) -> None:
    """A quantity greater than zero (ValidatePositiveQuantityValue)."""
    try:
        amount = quantity_value(value)
    except InvalidQuantity:
        errors.quantity(path, value)
        return
    if amount <= 0:
        errors.invalid(path, str(value), "must be greater than zero")


def class_name(errors: FieldErrors, path: str, name: Any) -> None:
    if name:  # "" asks for no class
        errors.dns1123_subdomain(path, name)


def _no_backsteps(errors: FieldErrors, path: str, value: str) -> None:
    if ".." in value.split("/"):
        errors.invalid(path, value, "must not contain '..'")


def _host_path(errors: FieldErrors, path: str, source: Any) -> None:
    source = source if isinstance(source, dict) else {}
    if not source.get("path"):
        errors.required(f"{path}.path")
        return
    _no_backsteps(errors, f"{path}.path", str(source["path"]))
    kind = source.get("type")
    if kind is not None and kind not in HOST_PATH_TYPES:
        errors.unsupported(f"{path}.type", kind, HOST_PATH_TYPES)


def _local(errors: FieldErrors, path: str, source: Any) -> None:
    source = source if isinstance(source, dict) else {}
    if not source.get("path"):
        errors.required(f"{path}.path")
        return
    _no_backsteps(errors, f"{path}.path", str(source["path"]))
    if source.get("fsType"):
        errors.forbidden(f"{path}.fsType", NOT_SUPPORTED)


def node_selector(errors: FieldErrors, path: str, selector: Any) -> None:
    """A `NodeSelector` (ValidateNodeSelector): at least one term, each requirement valid."""
    terms = (selector or {}).get("nodeSelectorTerms") if isinstance(selector, dict) else None
    if not terms:
        errors.required(f"{path}.nodeSelectorTerms", "must have at least one node selector term")
        return
    for i, term in enumerate(terms if isinstance(terms, list) else []):
        term = term if isinstance(term, dict) else {}
        for kind in ("matchExpressions", "matchFields"):
            for j, requirement in enumerate(term.get(kind) or []):
                _node_requirement(errors, f"{path}.nodeSelectorTerms[{i}].{kind}[{j}]",
                                  requirement if isinstance(requirement, dict) else {})


def _node_requirement(errors: FieldErrors, path: str, requirement: dict[str, Any]) -> None:
    operator, values = requirement.get("operator"), requirement.get("values") or []
    if operator in ("In", "NotIn") and not values:
        errors.required(f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'")
    elif operator in ("Exists", "DoesNotExist") and values:
        errors.forbidden(f"{path}.values",
                         "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
    elif operator in ("Gt", "Lt") and len(values) != 1:
        errors.required(f"{path}.values",
                        "must be specified single value when `operator` is 'Lt' or 'Gt'")
    elif operator not in NODE_SELECTOR_OPERATORS:
        errors.invalid(f"{path}.operator", operator, "not a valid selector operator")
    errors.qualified_name(f"{path}.key", requirement.get("key", ""))


def _volume_source(errors: FieldErrors, spec: dict[str, Any], affinity: bool) -> None:
    """Exactly one source; nodelab's kubelet mounts hostPath and local ones."""
    found = 0
    for source in (*SERVED_SOURCES, *OTHER_SOURCES):
        if spec.get(source) is None:
            continue
        if found:
            errors.forbidden(f"spec.{source}", "may not specify more than 1 volume type")
            continue
        found += 1
        if source == "hostPath":
            _host_path(errors, "spec.hostPath", spec[source])
        elif source == "local":
            _local(errors, "spec.local", spec[source])
            if not affinity:
                errors.required("spec.nodeAffinity", "Local volume requires node affinity")
        else:
            errors.forbidden(f"spec.{source}", NOT_SUPPORTED)
    if not found:
        errors.required("spec", "must specify a volume type")


def validate_persistentvolume(errors: FieldErrors, pv: Object) -> None:
    spec = pv.get("spec")
    if not isinstance(spec, dict):
        errors.required("spec", "must specify a volume type")
        return
    if not spec.get("accessModes"):
        errors.required("spec.accessModes")
    capacity = spec.get("capacity")
    capacity = capacity if isinstance(capacity, dict) else {}
    if not capacity:
        errors.required("spec.capacity")
    if "storage" not in capacity or len(capacity) > 1:
        errors.unsupported("spec.capacity", capacity, ["storage"])
    for resource, value in capacity.items():
        positive_quantity(errors, f"spec.capacity[{resource}]", value)
    access_modes(errors, "spec.accessModes", spec.get("accessModes"))
    class_name(errors, "spec.storageClassName", spec.get("storageClassName"))
    mode = spec.get("volumeMode")
    if mode is not None and mode not in VOLUME_MODES:
        errors.unsupported("spec.volumeMode", mode, VOLUME_MODES)
    elif mode == "Block":
        errors.forbidden("spec.volumeMode", NOT_SUPPORTED)
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy and policy not in RECLAIM_POLICIES:
        errors.unsupported("spec.persistentVolumeReclaimPolicy", policy, RECLAIM_POLICIES)
    affinity = spec.get("nodeAffinity")
    if affinity is not None:
        required = affinity.get("required") if isinstance(affinity, dict) else None
        if required is None:
            errors.required("spec.nodeAffinity.required", "must specify required node "
                            "constraints")
        else:
            node_selector(errors, "spec.nodeAffinity.required", required)
    _volume_source(errors, spec, affinity is not None)
    if policy == "Recycle":
        errors.forbidden("spec.persistentVolumeReclaimPolicy", "Recycle: " + NOT_SUPPORTED +
                         " (deprecated upstream: use Delete with a provisioner, or Retain)")
    if spec.get("mountOptions"):
        errors.forbidden("spec.mountOptions", NOT_SUPPORTED)
    if spec.get("volumeAttributesClassName"):
        errors.forbidden("spec.volumeAttributesClassName", NOT_SUPPORTED)


def _source(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: spec.get(k) for k in (*SERVED_SOURCES, *OTHER_SOURCES) if spec.get(k) is not None}


def validate_persistentvolume_update(errors: FieldErrors, new: Object, old: Object) -> None:
    validate_persistentvolume(errors, new)
    spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    if _source(spec) != _source(old_spec):
        errors.forbidden("spec.persistentvolumesource",
                         "spec.persistentvolumesource is immutable after creation")
    if spec.get("volumeMode") != old_spec.get("volumeMode"):
        errors.invalid("volumeMode", spec.get("volumeMode"), "field is immutable")
    if old_spec.get("nodeAffinity") is not None and \
            spec.get("nodeAffinity") != old_spec.get("nodeAffinity"):
        errors.forbidden("spec.nodeAffinity", "field is immutable")


def validate_claim_spec(errors: FieldErrors, path: str, spec: Any) -> None:
    """A PersistentVolumeClaimSpec (also a StatefulSet's volumeClaimTemplates)."""
    if not isinstance(spec, dict):
        errors.required(f"{path}.accessModes", "at least 1 access mode is required")
        errors.required(f"{path}.resources[storage]")
        return
    if not spec.get("accessModes"):
        errors.required(f"{path}.accessModes", "at least 1 access mode is required")
    label_selector(errors, f"{path}.selector", spec.get("selector"))
    access_modes(errors, f"{path}.accessModes", spec.get("accessModes"))
    requests = (spec.get("resources") or {}).get("requests") or {}
    if "storage" not in requests:
        errors.required(f"{path}.resources[storage]")
    else:
        positive_quantity(errors, f"{path}.resources[storage]", requests["storage"])
    class_name(errors, f"{path}.storageClassName", spec.get("storageClassName"))
    mode = spec.get("volumeMode")
    if mode is not None and mode not in VOLUME_MODES:
        errors.unsupported(f"{path}.volumeMode", mode, VOLUME_MODES)
    for key in ("dataSource", "dataSourceRef", "volumeAttributesClassName"):
        if spec.get(key):
            errors.forbidden(f"{path}.{key}", NOT_SUPPORTED)


def validate_persistentvolumeclaim(errors: FieldErrors, claim: Object) -> None:
    validate_claim_spec(errors, "spec", claim.get("spec"))


def _storage(claim: Object) -> Any:
    return (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get(
        "storage")


def validate_persistentvolumeclaim_update(errors: FieldErrors, new: Object, old: Object) -> None:
    """The spec is immutable but for `volumeName` once and a bound claim's storage request,
    which may grow but not shrink (upstream's ValidatePersistentVolumeClaimUpdate)."""
    validate_persistentvolumeclaim(errors, new)
    spec, old_spec = copy.deepcopy(new.get("spec") or {}), copy.deepcopy(old.get("spec") or {})
    if not old_spec.get("volumeName"):
        old_spec.pop("volumeName", None)
        spec.pop("volumeName", None)
    if (new.get("status") or {}).get("phase") == "Bound":
        for side in (spec, old_spec):
            (side.get("resources") or {}).get("requests", {}).pop("storage", None)
    if spec != old_spec:
        errors.forbidden("spec", "spec is immutable after creation except resources.requests "
                         "and volumeAttributesClassName for bound claims")
    try:
        shrinks = quantity_value(_storage(new)) < quantity_value(_storage(old))
    except InvalidQuantity:
        shrinks = False
    if shrinks:
        errors.forbidden("spec.resources.requests.storage",
                         "field can not be less than previous value")
    if (new.get("spec") or {}).get("volumeMode") != (old.get("spec") or {}).get("volumeMode"):
        errors.invalid("volumeMode", (new.get("spec") or {}).get("volumeMode"),
                       "field is immutable")
