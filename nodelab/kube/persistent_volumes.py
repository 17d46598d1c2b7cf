"""What makes a PersistentVolume fit a claim, shared by the PersistentVolume controller, the
scheduler's VolumeBinding plugin and the claim admission plugins: upstream's storage helpers
(component-helpers storage/volume), the binder's index
(pkg/controller/volume/persistentvolume/index.go), the binding annotations and the default
StorageClass.

`best_match` is findBestMatchForClaim: volumes are grouped by their access modes; only groups
holding every mode the claim asks for are searched, those with the fewest modes first; in a
group, a volume pre-bound to the claim (its `claimRef` names the claim, with no uid or the
claim's) wins at once, else the smallest `Available` volume of the claim's class whose labels
the claim's selector matches. Too small, other volume mode and deleted volumes never match.
With delayed binding (the class says WaitForFirstConsumer) only a pre-bound volume matches:
the scheduler picks the rest. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from nodelab.kube.label_selectors import selector_matches
from nodelab.kube.objects import Object, ObjectView
from nodelab.kube.quantities import InvalidQuantity, quantity_value

BETA_CLASS = "volume.beta.kubernetes.io/storage-class"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
PVC_PROTECTION = "kubernetes.io/pvc-protection"  # StorageObjectInUseProtection's finalizers
PV_PROTECTION = "kubernetes.io/pv-protection"
DEFAULT_CLASS = ("storageclass.kubernetes.io/is-default-class",
                 "storageclass.beta.kubernetes.io/is-default-class")


def _annotations(obj: ObjectView) -> ObjectView:
    return (obj.get("metadata") or {}).get("annotations") or {}


def claim_class(claim: ObjectView) -> str:
    """GetPersistentVolumeClaimClass: the beta annotation, else spec.storageClassName."""
    if BETA_CLASS in _annotations(claim):
        return str(_annotations(claim)[BETA_CLASS])
    return str((claim.get("spec") or {}).get("storageClassName") or "")


def claim_class_unset(claim: ObjectView) -> bool:
    """Neither the annotation nor spec.storageClassName (nil, not ""): a default may apply."""
    return BETA_CLASS not in _annotations(claim) and \
        (claim.get("spec") or {}).get("storageClassName") is None


def volume_class(volume: ObjectView) -> str:
    """GetPersistentVolumeClass."""
    if BETA_CLASS in _annotations(volume):
        return str(_annotations(volume)[BETA_CLASS])
    return str((volume.get("spec") or {}).get("storageClassName") or "")


def requested(claim: ObjectView) -> Decimal:
    storage = (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get(
        "storage", 0)
    try:
        return quantity_value(storage)
    except InvalidQuantity:
        return Decimal(0)


def capacity(volume: ObjectView) -> Decimal:
    try:
        return quantity_value(((volume.get("spec") or {}).get("capacity") or {}).get(
            "storage", 0))
    except InvalidQuantity:
        return Decimal(0)


def mode_mismatch(claim: ObjectView, volume: ObjectView) -> bool:
    """CheckVolumeModeMismatches (both default to Filesystem)."""
    return ((claim.get("spec") or {}).get("volumeMode") or "Filesystem") != \
        ((volume.get("spec") or {}).get("volumeMode") or "Filesystem")


def access_modes_fit(claim: ObjectView, volume: ObjectView) -> bool:
    """CheckAccessModes: every mode the claim asks for, the volume has."""
    return set((claim.get("spec") or {}).get("accessModes") or []) <= \
        set((volume.get("spec") or {}).get("accessModes") or [])


def bound_to(volume: ObjectView, claim: ObjectView) -> bool:
    """IsVolumeBoundToClaim: the volume's claimRef names the claim (no uid, or its uid)."""
    ref = (volume.get("spec") or {}).get("claimRef")
    meta = claim.get("metadata") or {}
    return isinstance(ref, dict) and ref.get("name") == meta.get("name") and \
        ref.get("namespace") == meta.get("namespace") and \
        ref.get("uid") in (None, "", meta.get("uid"))


def _deleted(obj: ObjectView) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def _matching(claim: ObjectView, volumes: list[ObjectView],
              delay_binding: bool) -> ObjectView | None:
    """FindMatchingVolume without a node (the PV controller's path)."""
    smallest: ObjectView | None = None
    selector = (claim.get("spec") or {}).get("selector")
    for volume in volumes:
        if (volume.get("spec") or {}).get("claimRef") and not bound_to(volume, claim):
            continue
        if capacity(volume) < requested(claim) or mode_mismatch(claim, volume) or \
                _deleted(volume):
            continue
        if bound_to(volume, claim):
            return volume
        if delay_binding:
            continue
        if (volume.get("status") or {}).get("phase") != "Available":
            continue
        if selector is not None and not selector_matches(
                selector, (volume.get("metadata") or {}).get("labels") or {}):
            continue
        if volume_class(volume) != claim_class(claim):
            continue
        if smallest is None or capacity(smallest) > capacity(volume):
            smallest = volume
    return smallest


def best_match(claim: ObjectView, volumes: Iterable[ObjectView],
               delay_binding: bool = False) -> ObjectView | None:
    """findBestMatchForClaim (index.findByClaim)."""
    groups: dict[frozenset[str], list[ObjectView]] = {}
    for volume in sorted(volumes, key=lambda v: str((v.get("metadata") or {}).get("name"))):
        modes = frozenset((volume.get("spec") or {}).get("accessModes") or [])
        groups.setdefault(modes, []).append(volume)
    wanted = set((claim.get("spec") or {}).get("accessModes") or [])
    for modes in sorted((m for m in groups if wanted <= m), key=lambda m: (len(m), sorted(m))):
        found = _matching(claim, groups[modes], delay_binding)
        if found is not None:
            return found
    return None


def satisfies(volume: ObjectView, claim: ObjectView) -> str:
    """checkVolumeSatisfyClaim: why a volume the claim names cannot be bound ("" if it can)."""
    if _deleted(volume):
        return f'the volume is marked for deletion "{(volume.get("metadata") or {}).get("name")}"'
    if capacity(volume) < requested(claim):
        return "requested PV is too small"
    if volume_class(volume) != claim_class(claim):
        return "storageClassName does not match"
    if mode_mismatch(claim, volume):
        return "incompatible volumeMode"
    if not access_modes_fit(claim, volume):
        return "incompatible accessMode"
    return ""


def default_class(classes: Iterable[ObjectView]) -> str:
    """The default StorageClass: the newest of those annotated default, as upstream's
    GetDefaultClass (ties by name)."""
    defaults = [c for c in classes if any(_annotations(c).get(k) == "true" for k in DEFAULT_CLASS)]
    if not defaults:
        return ""
    newest = max(defaults, key=lambda c: (str((c.get("metadata") or {}).get("creationTimestamp")
                                              or ""), str((c.get("metadata") or {}).get("name"))))
    return str((newest.get("metadata") or {}).get("name"))


def claim_ref(claim: ObjectView) -> Object:
    """The reference a volume's `claimRef` holds (ref.GetReference of the claim)."""
    meta = claim.get("metadata") or {}
    return {"kind": "PersistentVolumeClaim", "namespace": meta.get("namespace"),
            "name": meta.get("name"), "uid": meta.get("uid"), "apiVersion": "v1",
            "resourceVersion": meta.get("resourceVersion")}
