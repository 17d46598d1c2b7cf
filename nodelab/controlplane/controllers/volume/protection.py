"""The pvc-protection and pv-protection controllers: each claim or volume being deleted that
`protection_plan.py` releases loses its protection finalizer (a merge patch of the
finalizers, guarded by the uid), and the API server removes it."""

from __future__ import annotations

from nodelab.controlplane.controllers.volume.protection_plan import (
    claims_to_release,
    volumes_to_release,
    without,
)
from nodelab.kube.persistent_volumes import PV_PROTECTION, PVC_PROTECTION
from nodelab.kube.restclient import RestError
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer


class StorageProtectionController:
    name = "storage-protection"
    kinds: tuple[str, ...] = ("persistentvolumes", "persistentvolumeclaims", "pods")
    periodic = False

    def sync(self, store: Store, writer: Writer) -> None:
        for claim in claims_to_release(store.list("persistentvolumeclaims"), store.list("pods")):
            meta = claim["metadata"]
            self._patch(writer, "persistentvolumeclaims", meta["namespace"], meta["name"],
                        {"metadata": {"uid": meta.get("uid"),
                                      "finalizers": without(claim, PVC_PROTECTION)}})
        for volume in volumes_to_release(store.list("persistentvolumes")):
            meta = volume["metadata"]
            self._patch(writer, "persistentvolumes", None, meta["name"],
                        {"metadata": {"uid": meta.get("uid"),
                                      "finalizers": without(volume, PV_PROTECTION)}})

    @staticmethod
    def _patch(writer: Writer, kind: str, namespace: str | None, name: str,
               body: dict[str, object]) -> None:
        try:  # not through the writer's cache: the answer may be an object now gone, which
            # put back into the cache after the watch's DELETED would stay there
            writer.rest.patch(kind, namespace, name, body)
        except RestError as exc:
            if exc.status not in (404, 409):
                raise
