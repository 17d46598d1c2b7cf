"""persistentVolumeClaim volumes: from the claim to the PersistentVolume the kubelet mounts
(upstream's volume manager, desired_state_of_world_populator: getPVCExtractPV, getPVSpec).

The claim must exist, not be being deleted and be `Bound`; its volume must exist and name the
claim (with its uid) in `claimRef`; each failure is upstream's text, behind `error processing
PVC <ns>/<claim>: `, and the pod waits in ContainerCreating until it is right. nodelab's
nodes share the host's file system, so a volume's `hostPath` (with its `type` check, as a
pod's hostPath volume) and a `local` volume (the path must exist: upstream's `path "p" does
not exist`) are both the node path itself. `readOnly` on the pod's volume makes every mount of
it read-only. Other sources are refused by the API server.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodelab.kube.objects import ObjectView
from nodelab.kubelet.pods.volumes.host_path import HostPathError, set_up_host_path

Fetch = Callable[[str, str, str], dict[str, Any] | None]  # (kind, namespace, name) -> object


class ClaimError(Exception):
    """The claim or its volume is not ready (the message is upstream's)."""


class ClaimMountError(Exception):
    """The bound volume could not be set up: upstream's `MountVolume.<stage> for volume "<the
    PersistentVolume's name>" : <why>`."""

    def __init__(self, volume: str, why: str, stage: str = "SetUp failed") -> None:
        super().__init__(f'MountVolume.{stage} for volume "{volume}" : {why}')


@dataclass(frozen=True)
class ClaimedVolume:
    path: Path
    read_only: bool


def _bound_volume(source: ObjectView, namespace: str, fetch: Fetch) -> ObjectView:
    name = str(source.get("claimName") or "")
    try:
        claim = fetch("persistentvolumeclaims", namespace, name)
        if claim is None:
            raise ClaimError("failed to fetch PVC from API server: persistentvolumeclaims "
                             f'"{name}" not found')
        if (claim.get("metadata") or {}).get("deletionTimestamp"):
            raise ClaimError("PVC is being deleted")
        if (claim.get("status") or {}).get("phase") != "Bound":
            raise ClaimError("PVC is not bound")
        volume_name = str((claim.get("spec") or {}).get("volumeName") or "")
        volume = fetch("persistentvolumes", "", volume_name)
        if volume is None:
            raise ClaimError(f"failed to fetch PV {volume_name} from API server: "
                             f'persistentvolumes "{volume_name}" not found')
        ref = (volume.get("spec") or {}).get("claimRef")
        if not ref:
            raise ClaimError(f"found PV object {volume_name} but it has a nil "
                             "pv.Spec.ClaimRef indicating it is not yet bound to the claim")
        uid = (claim.get("metadata") or {}).get("uid")
        if ref.get("uid") != uid:
            raise ClaimError(f"found PV object {volume_name} but its pv.Spec.ClaimRef.UID "
                             f"{ref.get('uid', '')} does not point to claim.UID {uid}")
    except ClaimError as exc:
        raise ClaimError(f"error processing PVC {namespace}/{name}: {exc}") from exc
    return volume


def set_up_claim(source: ObjectView, namespace: str, fetch: Fetch) -> ClaimedVolume:
    """The node path of the volume bound to the claim `source` names."""
    volume = _bound_volume(source, namespace, fetch)
    name = str((volume.get("metadata") or {}).get("name"))
    spec = volume.get("spec") or {}
    read_only = bool(source.get("readOnly"))
    if isinstance(spec.get("hostPath"), dict):
        try:
            return ClaimedVolume(set_up_host_path(spec["hostPath"]), read_only)
        except HostPathError as exc:
            raise ClaimMountError(name, str(exc)) from exc
    if isinstance(spec.get("local"), dict):
        path = str(spec["local"].get("path") or "")
        if not os.path.exists(path):
            raise ClaimMountError(name, f'path "{path}" does not exist',
                                  "NewMounter initialization failed")
        return ClaimedVolume(Path(path), read_only)
    raise ClaimMountError(name, "no volume plugin matched: nodelab's kubelet mounts hostPath "
                          "and local PersistentVolumes")
