"""The CRD controllers that run in the server's reconcile loop, over the store.

- `update_statuses`: each CRD's status as the naming and establishing controllers set it
  (`naming.desired_status`), written when it differs;
- `mark_for_deletion`: what DELETE does to a CRD (upstream's CRD storage `Delete`): it gets
  its `deletionTimestamp`, the `customresourcecleanup.apiextensions.k8s.io` finalizer and a
  `Terminating` condition (`InstanceDeletionPending`); it stays, serving reads and deletes of
  its objects but no creates, until
- `finalize`: (upstream's finalizing controller) every object of a terminating CRD is deleted
  (through the normal deletion, so the objects' own finalizers hold it); once none is left
  the finalizer is removed and the CRD goes.
"""

from __future__ import annotations

from collections.abc import Callable

from nodelab.controlplane.apiextensions import CLEANUP_FINALIZER, CRD_KEY, naming
from nodelab.controlplane.storage.store import Conflict, NotFound, Store
from nodelab.kube.objects import Object
from nodelab.kubewire import times

DeleteObject = Callable[[str, str, str], None]  # (crd name, namespace, name)


def mark_for_deletion(crd: Object) -> None:
    meta = crd.setdefault("metadata", {})
    if not meta.get("deletionTimestamp"):
        meta["deletionTimestamp"] = times.now()
        meta["deletionGracePeriodSeconds"] = 0
    finalizers = meta.setdefault("finalizers", [])
    if CLEANUP_FINALIZER not in finalizers:
        finalizers.append(CLEANUP_FINALIZER)
    status = crd.setdefault("status", {})
    conditions = [c for c in status.get("conditions") or []
                  if isinstance(c, dict) and c.get("type") != naming.TERMINATING]
    conditions.append({"type": naming.TERMINATING, "status": "True",
                       "lastTransitionTime": times.now(), "reason": "InstanceDeletionPending",
                       "message": "CustomResourceDefinition marked for deletion; "
                                  "CustomResource deletion will begin soon"})
    status["conditions"] = conditions


def storage_key(crd: Object) -> str:
    spec = crd.get("spec") or {}
    return f"{spec.get('group', '')}/{(spec.get('names') or {}).get('plural', '')}"


def update_statuses(store: Store) -> None:
    crds = store.select(CRD_KEY)[0]
    now = times.now()
    for crd in crds:
        group = (crd.get("spec") or {}).get("group")
        peers = [c for c in crds if (c.get("spec") or {}).get("group") == group]
        wanted = naming.desired_status(crd, peers, now)
        if wanted == crd.get("status"):
            continue
        crd["status"] = wanted
        meta = crd["metadata"]
        try:
            store.update(CRD_KEY, "", meta["name"], crd, int(meta["resourceVersion"]))
        except (Conflict, NotFound):
            continue  # written meanwhile: the next pass sees it


def finalize(store: Store, delete_object: DeleteObject) -> None:
    for crd in store.select(CRD_KEY)[0]:
        meta = crd["metadata"]
        if not meta.get("deletionTimestamp") or CLEANUP_FINALIZER not in (
                meta.get("finalizers") or []):
            continue
        objects = store.select(storage_key(crd))[0]
        for obj in objects:
            if obj["metadata"].get("deletionTimestamp"):
                continue
            delete_object(meta["name"], obj["metadata"].get("namespace") or "",
                          obj["metadata"]["name"])
        if store.select(storage_key(crd))[0]:
            continue  # objects with finalizers of their own: wait for them
        meta["finalizers"] = [f for f in meta["finalizers"] if f != CLEANUP_FINALIZER]
        try:
            if meta["finalizers"]:
                store.update(CRD_KEY, "", meta["name"], crd, int(meta["resourceVersion"]))
            else:
                store.delete(CRD_KEY, "", meta["name"], int(meta["resourceVersion"]))
        except (Conflict, NotFound):
            continue
