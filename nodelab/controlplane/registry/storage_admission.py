"""The admission plugins of PersistentVolumeClaims (upstream's plugin/pkg/admission/storage):

- StorageObjectInUseProtection: a new claim gets the finalizer `kubernetes.io/pvc-protection`,
  a new volume `kubernetes.io/pv-protection` (`admit_protection`);
- DefaultStorageClass: a new claim that names no class (`storageClassName` absent, not `""`,
  and no beta annotation) gets the default StorageClass, the newest of those annotated
  default (ties by name), as upstream's GetDefaultClass; without one it stays unset.
- PersistentVolumeClaimResize: a claim whose storage request grows is refused (403) unless
  it is bound ("Only bound persistent volume claims can be expanded") and its class has
  `allowVolumeExpansion` ("only dynamically provisioned pvc can be resized and the
  storageclass that provisions the pvc must support resize"). nodelab runs no volume resizer,
  so an expansion upstream would accept is refused as well, saying so, rather than accepted
  and never done.

Pure functions over the stored classes; `rest.py` calls them.
"""

from __future__ import annotations

from collections.abc import Sequence

from nodelab.controlplane import errors
from nodelab.kube.objects import Object
from nodelab.kube.persistent_volumes import (
    PV_PROTECTION,
    PVC_PROTECTION,
    claim_class,
    claim_class_unset,
    default_class,
    requested,
)

CLAIM_KEY = "core/persistentvolumeclaims"
CLASS_KEY = "storage.k8s.io/storageclasses"
FINALIZERS = {CLAIM_KEY: PVC_PROTECTION, "core/persistentvolumes": PV_PROTECTION}


def admit_protection(storage_key: str, obj: Object) -> None:
    """StorageObjectInUseProtection: a new claim or volume gets its protection finalizer
    (the pvc-protection and pv-protection controllers remove it once nothing uses it)."""
    finalizer = FINALIZERS.get(storage_key)
    meta = obj.get("metadata")
    if finalizer is None or not isinstance(meta, dict):
        return
    finalizers = meta.setdefault("finalizers", [])
    if isinstance(finalizers, list) and finalizer not in finalizers:
        finalizers.append(finalizer)


def _forbidden(claim: Object, why: str) -> errors.ApiError:
    name = str((claim.get("metadata") or {}).get("name") or "")
    return errors.ApiError(403, "Forbidden",
                           f'persistentvolumeclaims "{name}" is forbidden: {why}',
                           {"name": name, "kind": "persistentvolumeclaims"})


def admit_claim(claim: Object, old: Object | None, classes: Sequence[Object]) -> None:
    spec = claim.get("spec")
    if not isinstance(spec, dict):
        return
    if old is None:
        default = default_class(classes)
        if default and claim_class_unset(claim):
            spec["storageClassName"] = default
        return
    if requested(claim) <= requested(old):
        return
    if (old.get("status") or {}).get("phase") != "Bound":
        raise _forbidden(claim, "Only bound persistent volume claims can be expanded")
    storage_class = next((c for c in classes
                          if c["metadata"]["name"] == claim_class(claim)), None)
    if storage_class is None or not storage_class.get("allowVolumeExpansion"):
        raise _forbidden(claim, "only dynamically provisioned pvc can be resized and the "
                         "storageclass that provisions the pvc must support resize")
    raise _forbidden(claim, "expanding a volume is not supported by nodelab (no volume "
                     "resizer runs)")
