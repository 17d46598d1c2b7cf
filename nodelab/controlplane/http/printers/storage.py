"""The `kubectl get` columns of PersistentVolumes, PersistentVolumeClaims and StorageClasses
(upstream's printPersistentVolume, printPersistentVolumeClaim and printStorageClass).

Access modes print as `RWO,ROX,RWX,RWOP` in that order whatever the object's order
(GetAccessModesAsString); a volume's or claim's class is the beta annotation
`volume.beta.kubernetes.io/storage-class` when set, else `spec.storageClassName`; an object
being deleted shows `Terminating`; a claim shows capacity and modes only once it names a volume;
the default class's name is followed by ` (default)`.
"""

from __future__ import annotations

from typing import Any

from nodelab.kube.objects import Object
from nodelab.kubewire.times import age

BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
          ("ReadWriteOncePod", "RWOP"))
DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")


def access_modes_text(modes: Any) -> str:
    present = set(modes or [])
    return ",".join(short for mode, short in _MODES if mode in present)


def volume_class(obj: Object) -> str:
    """GetPersistentVolume(Claim)Class: the beta annotation first."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if BETA_CLASS_ANNOTATION in annotations:
        return str(annotations[BETA_CLASS_ANNOTATION])
    return str((obj.get("spec") or {}).get("storageClassName") or "")


def _phase(obj: Object) -> str:
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    return str((obj.get("status") or {}).get("phase") or "")


def _common(obj: Object) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("name", "")), age(meta.get("creationTimestamp"))


def _pv_row(pv: Object) -> list[Any]:
    spec, status = pv.get("spec") or {}, pv.get("status") or {}
    ref = spec.get("claimRef")
    claim = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if isinstance(ref, dict) else ""
    name, created = _common(pv)
    return [name, str((spec.get("capacity") or {}).get("storage", "0")),
            access_modes_text(spec.get("accessModes")),
            spec.get("persistentVolumeReclaimPolicy", ""), _phase(pv), claim, volume_class(pv),
            spec.get("volumeAttributesClassName") or "<unset>", status.get("reason", ""),
            created, spec.get("volumeMode") or "<unset>"]


def _pvc_row(claim: Object) -> list[Any]:
    spec, status = claim.get("spec") or {}, claim.get("status") or {}
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = access_modes_text(status.get("accessModes"))
        capacity = str((status.get("capacity") or {}).get("storage", "0"))
    name, created = _common(claim)
    return [name, _phase(claim), spec.get("volumeName", ""), capacity, modes,
            volume_class(claim), spec.get("volumeAttributesClassName") or "<unset>", created,
            spec.get("volumeMode") or "<unset>"]


def _storage_class_row(sc: Object) -> list[Any]:
    name, created = _common(sc)
    annotations = (sc.get("metadata") or {}).get("annotations") or {}
    if any(annotations.get(key) == "true" for key in DEFAULT_CLASS_ANNOTATIONS):
        name += " (default)"
    return [name, sc.get("provisioner", ""), sc.get("reclaimPolicy") or "Delete",
            sc.get("volumeBindingMode") or "Immediate", bool(sc.get("allowVolumeExpansion")),
            created]


S = "string"
STORAGE_PRINTERS = {
    "core/persistentvolumes": ([("Name", S, 0), ("Capacity", S, 0), ("Access Modes", S, 0),
                                ("Reclaim Policy", S, 0), ("Status", S, 0), ("Claim", S, 0),
                                ("StorageClass", S, 0), ("VolumeAttributesClass", S, 0),
                                ("Reason", S, 0), ("Age", S, 0), ("VolumeMode", S, 1)],
                               _pv_row),
    "core/persistentvolumeclaims": ([("Name", S, 0), ("Status", S, 0), ("Volume", S, 0),
                                     ("Capacity", S, 0), ("Access Modes", S, 0),
                                     ("StorageClass", S, 0), ("VolumeAttributesClass", S, 0),
                                     ("Age", S, 0), ("VolumeMode", S, 1)], _pvc_row),
    "storage.k8s.io/storageclasses": ([("Name", S, 0), ("Provisioner", S, 0),
                                       ("ReclaimPolicy", S, 0), ("VolumeBindingMode", S, 0),
                                       ("AllowVolumeExpansion", "boolean", 0), ("Age", S, 0)],
                                      _storage_class_row),
}
