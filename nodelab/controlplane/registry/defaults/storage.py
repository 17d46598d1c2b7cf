"""Defaults and create/status rules of the storage kinds (upstream's SetDefaults_PersistentVolume,
SetDefaults_PersistentVolumeClaim(Spec), SetDefaults_StorageClass and the persistentvolume
strategies).

A PersistentVolume is `Retain`ed and `Filesystem` unless it says otherwise, a claim
`Filesystem`, a class `Delete`s and binds `Immediate`ly. A new volume or claim starts with an
empty status in phase `Pending` (what a client sends as status is dropped); a volume's
`status.lastPhaseTransitionTime` is stamped on create and whenever its phase changes (GA 1.31).
"""

from __future__ import annotations

from nodelab.kube.objects import Object
from nodelab.kubewire import times

PV_KEY, PVC_KEY = "core/persistentvolumes", "core/persistentvolumeclaims"


def claim_spec(spec: object) -> None:
    if isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")


def persistentvolume(pv: Object) -> None:
    spec = pv.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
        if isinstance(spec.get("hostPath"), dict):
            spec["hostPath"].setdefault("type", "")
    status = pv.setdefault("status", {})
    if isinstance(status, dict) and not status.get("phase"):
        status["phase"] = "Pending"


def persistentvolumeclaim(claim: Object) -> None:
    claim_spec(claim.get("spec"))
    status = claim.setdefault("status", {})
    if isinstance(status, dict) and not status.get("phase"):
        status["phase"] = "Pending"


def storageclass(sc: Object) -> None:
    sc.setdefault("reclaimPolicy", "Delete")
    sc.setdefault("volumeBindingMode", "Immediate")


def prepare_for_create(storage_key: str, obj: Object) -> None:
    """A new volume or claim: the client's status dropped (upstream's PrepareForCreate)."""
    if storage_key == PV_KEY:
        obj["status"] = {"lastPhaseTransitionTime": times.now()}
    elif storage_key == PVC_KEY:
        obj["status"] = {}


def prepare_for_status_update(storage_key: str, new: Object, old: Object) -> None:
    """A status written without a phase is `Pending` (the defaulting of every read); a
    volume's phase change stamps `lastPhaseTransitionTime` unless the writer set it."""
    if storage_key == PVC_KEY:
        persistentvolumeclaim(new)
    if storage_key != PV_KEY:
        return
    persistentvolume(new)
    status, old_status = new.get("status"), old.get("status") or {}
    if not isinstance(status, dict) or status.get("phase") == old_status.get("phase"):
        return
    if status.get("lastPhaseTransitionTime") in (None, old_status.get("lastPhaseTransitionTime")):
        status["lastPhaseTransitionTime"] = times.now()
