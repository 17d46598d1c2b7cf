"""Storage object in-use protection (upstream's StorageObjectInUseProtection admission plugin
and the pvc-protection and pv-protection controllers), as pure decisions.

Every new claim carries the finalizer `kubernetes.io/pvc-protection` and every new volume
`kubernetes.io/pv-protection` (the admission plugin: `registry/storage_admission.py`). A claim
being deleted keeps its finalizer, and so stays `Terminating`, while a pod of its namespace
that has not finished (not Succeeded or Failed) uses it; a volume being deleted keeps its own
while it is `Bound`.
`release` says which finalizers to remove now.
"""

from __future__ import annotations

from collections.abc import Iterable

from nodelab.kube.objects import ObjectView
from nodelab.kube.persistent_volumes import PV_PROTECTION, PVC_PROTECTION


def _deleting_with(obj: ObjectView, finalizer: str) -> bool:
    meta = obj.get("metadata") or {}
    return bool(meta.get("deletionTimestamp")) and finalizer in (meta.get("finalizers") or [])


def claim_in_use(claim: ObjectView, pods: Iterable[ObjectView]) -> bool:
    """A pod of the claim's namespace that has not finished names it in a volume."""
    meta = claim.get("metadata") or {}
    for pod in pods:
        if (pod.get("metadata") or {}).get("namespace") != meta.get("namespace"):
            continue
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        if any((v.get("persistentVolumeClaim") or {}).get("claimName") == meta.get("name")
               for v in (pod.get("spec") or {}).get("volumes") or []):
            return True
    return False


def claims_to_release(claims: Iterable[ObjectView], pods: Iterable[ObjectView]
                      ) -> list[ObjectView]:
    pods = list(pods)
    return [c for c in claims if _deleting_with(c, PVC_PROTECTION) and not claim_in_use(c, pods)]


def volumes_to_release(volumes: Iterable[ObjectView]) -> list[ObjectView]:
    return [v for v in volumes if _deleting_with(v, PV_PROTECTION)
            and (v.get("status") or {}).get("phase") != "Bound"]


def without(obj: ObjectView, finalizer: str) -> list[str]:
    """The object's finalizers but `finalizer` (what the patch writes)."""
    return [f for f in (obj.get("metadata") or {}).get("finalizers") or [] if f != finalizer]
