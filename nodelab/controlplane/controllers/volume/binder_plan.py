"""The PersistentVolume binder's decisions (upstream's pkg/controller/volume/persistentvolume
pv_controller.go: syncClaim, syncUnboundClaim, syncBoundClaim, syncVolume, bind, unbindVolume,
reclaimVolume), as pure functions from the objects to a `Plan` of patches and events.

A claim without `pv.kubernetes.io/bind-completed` is unbound:
- with `spec.volumeName` (pre-bound by its author): bound to that volume if the volume is
  free and satisfies it (else the event `VolumeMismatch` "Cannot bind to requested volume ...:
  <why>"), or if the volume is already reserved for it; a volume bound to another claim is
  `FailedBinding` "volume "v" already bound to a different claim.";
- else: a claim without a class gets the default class (the newest one annotated default;
  RetroactiveDefaultStorageClass); then `best_match` (kube/persistent_volumes.py) or, when
  nothing matches, the event upstream gives: `WaitForFirstConsumer` / `WaitForPodScheduled`
  for a class that binds late, `ExternalProvisioning` for a class whose provisioner is not built in,
  `ProvisioningFailed` for a missing class or a `kubernetes.io/` provisioner, `FailedBinding`
  "no persistent volumes available for this claim and no storage class is set" without a
  class.
Binding writes the volume's `claimRef` (and `pv.kubernetes.io/bound-by-controller` when the
controller chose it), its phase `Bound`, the claim's `volumeName` with `bind-completed` (and
`bound-by-controller` when the controller chose the volume) and the claim's status (Bound,
the volume's access modes and capacity). A bound claim whose volume is gone or names another
claim goes `Lost` (`ClaimLost`, `ClaimMisbound`).

A volume without `claimRef` (or reserved for a claim not yet bound) is `Available`; one whose
claim is bound to it `Bound`; one whose claim is gone `Released`, then reclaimed: `Retain`
keeps it, `Delete` deletes a volume its provisioner made (`Delete` in the plan: the
provisioner removes its directory) and fails any other (`VolumeFailedDelete`, phase
`Failed`): nodelab removes nothing outside the lab's state directory. A volume the
controller reserved for a claim that bound elsewhere is freed again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from nodelab.kube.objects import Object, ObjectView
from nodelab.kube.persistent_volumes import (
    BIND_COMPLETED,
    BOUND_BY_CONTROLLER,
    SELECTED_NODE,
    best_match,
    bound_to,
    claim_class,
    claim_class_unset,
    claim_ref,
    default_class,
    mode_mismatch,
    satisfies,
)

PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
VOLUMES, CLAIMS = "persistentvolumes", "persistentvolumeclaims"


@dataclass(frozen=True)
class Patch:
    """A merge patch of a volume (namespace "") or claim, or of its status."""

    kind: str
    namespace: str
    name: str
    body: Object
    subresource: str = ""


@dataclass(frozen=True)
class Event:
    subject: ObjectView
    kind: str  # PersistentVolume | PersistentVolumeClaim
    reason: str
    message: str
    type: str = "Normal"


@dataclass
class Plan:
    patches: list[Patch] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)  # volumes to delete (their provisioner's)


@dataclass(frozen=True)
class World:
    """What the binder reads: volumes by name, classes by name, the pods (for the
    WaitForPodScheduled text) and the provisioners nodelab runs (`provisioners`)."""

    volumes: Mapping[str, ObjectView]
    classes: Mapping[str, ObjectView]
    pods: tuple[ObjectView, ...] = ()
    provisioners: frozenset[str] = frozenset()


def _meta(obj: ObjectView) -> ObjectView:
    return obj.get("metadata") or {}


def _annotations(obj: ObjectView) -> ObjectView:
    return _meta(obj).get("annotations") or {}


def _spec(obj: ObjectView) -> ObjectView:
    return obj.get("spec") or {}


def _status(obj: ObjectView) -> ObjectView:
    return obj.get("status") or {}


def _claim_event(claim: ObjectView, reason: str, message: str, kind: str = "Normal") -> Event:
    return Event(claim, "PersistentVolumeClaim", reason, message, kind)


def _volume_phase(volume: ObjectView, phase: str, message: str = "") -> list[Patch]:
    status = _status(volume)
    if status.get("phase") == phase and (status.get("message") or "") == message:
        return []
    return [Patch(VOLUMES, "", str(_meta(volume).get("name")),
                  {"status": {"phase": phase, "message": message or None}}, "status")]


def _claim_phase(claim: ObjectView, phase: str, volume: ObjectView | None = None) -> list[Patch]:
    """updateClaimStatus: the phase, and the volume's modes and capacity (none without one)."""
    status = _status(claim)
    modes = list(_spec(volume).get("accessModes") or []) if volume is not None else None
    capacity = dict(_spec(volume).get("capacity") or {}) if volume is not None else None
    if status.get("phase") == phase and status.get("accessModes") == modes and \
            status.get("capacity") == capacity:
        return []
    return [Patch(CLAIMS, str(_meta(claim).get("namespace")), str(_meta(claim).get("name")),
                  {"status": {"phase": phase, "accessModes": modes, "capacity": capacity}},
                  "status")]


def bind(volume: ObjectView, claim: ObjectView) -> list[Patch]:
    """bind(): the volume to the claim, then the claim to the volume, each only as needed."""
    patches = []
    name = str(_meta(volume).get("name"))
    ref = _spec(volume).get("claimRef") or {}
    if not (bound_to(volume, claim) and ref.get("uid") == _meta(claim).get("uid")):
        body: Object = {"spec": {"claimRef": claim_ref(claim)}}
        if not bound_to(volume, claim):
            body["metadata"] = {"annotations": {BOUND_BY_CONTROLLER: "yes"}}
        patches.append(Patch(VOLUMES, "", name, body))
    patches += _volume_phase(volume, "Bound")
    if _spec(claim).get("volumeName") != name or BIND_COMPLETED not in _annotations(claim):
        annotations = {BIND_COMPLETED: "yes"}
        if not _spec(claim).get("volumeName"):
            annotations[BOUND_BY_CONTROLLER] = "yes"
        patches.append(Patch(CLAIMS, str(_meta(claim).get("namespace")),
                             str(_meta(claim).get("name")),
                             {"metadata": {"annotations": annotations},
                              "spec": {"volumeName": name}}))
    return patches + _claim_phase(claim, "Bound", volume)


def _delay_binding(claim: ObjectView, world: World) -> bool:
    """IsDelayBindingMode: the claim's class binds WaitForFirstConsumer."""
    storage_class = world.classes.get(claim_class(claim))
    return storage_class is not None and \
        storage_class.get("volumeBindingMode") == "WaitForFirstConsumer"


def _waiting_pods(claim: ObjectView, pods: Iterable[ObjectView]) -> list[str]:
    """findNonScheduledPodsByPVC: unscheduled pods of the claim's namespace using it."""
    meta = _meta(claim)
    names = []
    for pod in pods:
        if _meta(pod).get("namespace") != meta.get("namespace") or _spec(pod).get("nodeName"):
            continue
        if any((v.get("persistentVolumeClaim") or {}).get("claimName") == meta.get("name")
               for v in _spec(pod).get("volumes") or []):
            names.append(str(_meta(pod).get("name")))
    return sorted(names)


def _no_volume(claim: ObjectView, world: World, delay: bool) -> Plan:
    """What syncUnboundClaim does when no volume matches."""
    plan = Plan()
    name = claim_class(claim)
    if delay and SELECTED_NODE not in _annotations(claim):
        pods = _waiting_pods(claim, world.pods)
        if not pods:
            plan.events.append(_claim_event(claim, "WaitForFirstConsumer",
                                            "waiting for first consumer to be created before "
                                            "binding"))
        else:
            plan.events.append(_claim_event(
                claim, "WaitForPodScheduled",
                f"waiting for pod{'s' if len(pods) > 1 else ''} {','.join(pods)} to be scheduled"))
    elif name:
        storage_class = world.classes.get(name)
        provisioner = str((storage_class or {}).get("provisioner") or "")
        if storage_class is None:
            plan.events.append(_claim_event(claim, "ProvisioningFailed",
                                            f'storageclass.storage.k8s.io "{name}" not found',
                                            "Warning"))
        elif provisioner.startswith("kubernetes.io/"):
            plan.events.append(_claim_event(claim, "ProvisioningFailed",
                                            f"no volume plugin matched name: {provisioner}",
                                            "Warning"))
        else:
            if _annotations(claim).get(STORAGE_PROVISIONER) != provisioner:
                plan.patches.append(Patch(
                    CLAIMS, str(_meta(claim).get("namespace")), str(_meta(claim).get("name")),
                    {"metadata": {"annotations": {STORAGE_PROVISIONER: provisioner,
                                                  BETA_STORAGE_PROVISIONER: provisioner}}}))
            plan.events.append(_claim_event(
                claim, "ExternalProvisioning",
                f"Waiting for a volume to be created either by the external provisioner "
                f"'{provisioner}' or manually by the system administrator. If volume creation "
                "is delayed, please verify that the provisioner is running and correctly "
                "registered."))
            return plan
    else:
        plan.events.append(_claim_event(claim, "FailedBinding", "no persistent volumes "
                                        "available for this claim and no storage class is set"))
    plan.patches += _claim_phase(claim, "Pending")
    return plan


def _unbound_claim(claim: ObjectView, world: World) -> Plan:
    """syncUnboundClaim."""
    wanted = _spec(claim).get("volumeName")
    namespace, name = str(_meta(claim).get("namespace")), str(_meta(claim).get("name"))
    if not wanted:
        default = default_class(world.classes.values())
        if claim_class_unset(claim) and default:
            return Plan([Patch(CLAIMS, namespace, name, {"spec": {"storageClassName": default}})])
        delay = _delay_binding(claim, world)
        volume = best_match(claim, world.volumes.values(), delay)
        if volume is None:
            return _no_volume(claim, world, delay)
        return Plan(bind(volume, claim))
    volume = world.volumes.get(str(wanted))
    if volume is None:
        return Plan(_claim_phase(claim, "Pending"))
    if not _spec(volume).get("claimRef"):
        why = satisfies(volume, claim)
        if why:
            return Plan(_claim_phase(claim, "Pending"), [_claim_event(
                claim, "VolumeMismatch", f'Cannot bind to requested volume "{wanted}": {why}',
                "Warning")])
        return Plan(bind(volume, claim))
    if bound_to(volume, claim):
        return Plan(bind(volume, claim))
    return Plan(_claim_phase(claim, "Pending"), [_claim_event(
        claim, "FailedBinding", f'volume "{wanted}" already bound to a different claim.',
        "Warning")])


def _bound_claim(claim: ObjectView, world: World) -> Plan:
    """syncBoundClaim."""
    wanted = _spec(claim).get("volumeName")
    if not wanted:
        return Plan(_claim_phase(claim, "Lost"), [_claim_event(
            claim, "ClaimLost", "Bound claim has lost reference to PersistentVolume. Data on the "
            "volume is lost!", "Warning")])
    volume = world.volumes.get(str(wanted))
    if volume is None:
        return Plan(_claim_phase(claim, "Lost"), [_claim_event(
            claim, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume "
            "is lost!", "Warning")])
    ref = _spec(volume).get("claimRef")
    if not ref or ref.get("uid") == _meta(claim).get("uid"):
        return Plan(bind(volume, claim))
    return Plan(_claim_phase(claim, "Lost"), [_claim_event(
        claim, "ClaimMisbound", "Two claims are bound to the same volume, this one is bound "
        "incorrectly", "Warning")])


def plan_claim(claim: ObjectView, world: World) -> Plan:
    """syncClaim."""
    if BIND_COMPLETED not in _annotations(claim):
        return _unbound_claim(claim, world)
    return _bound_claim(claim, world)


def _unbind(volume: ObjectView) -> list[Patch]:
    """unbindVolume: a volume the controller chose loses its claimRef, one its author
    pre-bound keeps it without the uid; both are Available again."""
    name = str(_meta(volume).get("name"))
    if BOUND_BY_CONTROLLER in _annotations(volume):
        body: Object = {"spec": {"claimRef": None},
                        "metadata": {"annotations": {BOUND_BY_CONTROLLER: None}}}
    else:
        body = {"spec": {"claimRef": {"uid": None}}}
    return [Patch(VOLUMES, "", name, body), *_volume_phase({**volume, "status": {}},
                                                            "Available")]


def _reclaim(volume: ObjectView, world: World) -> Plan:
    """reclaimVolume, after the volume went Released."""
    plan = Plan()
    if _status(volume).get("phase") not in ("Released", "Failed"):
        plan.patches += _volume_phase(volume, "Released")
    policy = _spec(volume).get("persistentVolumeReclaimPolicy")
    if policy == "Retain":
        return plan
    if policy != "Delete":
        why = "Volume has unrecognized PersistentVolumeReclaimPolicy"
        plan.patches = _volume_phase(volume, "Failed", why)
        plan.events.append(Event(volume, "PersistentVolume", "VolumeUnknownReclaimPolicy", why,
                                 "Warning"))
        return plan
    if _annotations(volume).get(PROVISIONED_BY) in world.provisioners:
        plan.deletes.append(str(_meta(volume).get("name")))
        return plan
    why = _not_deletable(volume)
    plan.patches = _volume_phase(volume, "Failed", why)
    plan.events.append(Event(volume, "PersistentVolume", "VolumeFailedDelete", why, "Warning"))
    return plan


def _not_deletable(volume: ObjectView) -> str:
    """Why the binder deletes no volume it did not provision: a hostPath is the learner's
    (upstream's hostPath deleter removes only /tmp/.+ paths, nodelab's none), `local` has no
    deleter upstream either."""
    name = str(_meta(volume).get("name"))
    host_path = _spec(volume).get("hostPath")
    if isinstance(host_path, dict):
        path = str(host_path.get("path") or "")
        return (f"host_path deleter only supports /tmp/.+ but received provided {path}"
                if not path.startswith("/tmp/") else
                f"nodelab's host_path deleter removes no path outside the lab: {path} kept")
    return f'error getting deleter volume plugin for volume "{name}": no deletable volume ' \
        "plugin matched"


def plan_volume(volume: ObjectView, claim: ObjectView | None, world: World) -> Plan:
    """syncVolume; `claim`: the claim its claimRef names, if it exists with that uid."""
    ref = _spec(volume).get("claimRef")
    if not ref or not ref.get("uid"):
        return Plan(_volume_phase(volume, "Available"))
    if claim is None:
        return _reclaim(volume, world)
    claim_volume = _spec(claim).get("volumeName")
    if not claim_volume:
        if mode_mismatch(claim, volume):
            claim_name = _meta(claim).get("name")
            return Plan(events=[
                Event(volume, "PersistentVolume", "VolumeMismatch", "Cannot bind "
                      f'PersistentVolume to requested PersistentVolumeClaim "{claim_name}" '
                      "due to incompatible volumeMode.", "Warning"),
                _claim_event(claim, "VolumeMismatch", f'Cannot bind PersistentVolume '
                             f'"{_meta(volume).get("name")}" to requested PersistentVolumeClaim '
                             "due to incompatible volumeMode.", "Warning")])
        return Plan()  # the claim's sync finishes the binding
    if claim_volume == _meta(volume).get("name"):
        return Plan(_volume_phase(volume, "Bound"))
    if _annotations(volume).get(PROVISIONED_BY) in world.provisioners and \
            _spec(volume).get("persistentVolumeReclaimPolicy") == "Delete":
        return _reclaim(volume, world)
    return Plan(_unbind(volume))


def claim_of(volume: ObjectView, claims: Mapping[tuple[str, str], ObjectView]
             ) -> ObjectView | None:
    """The claim a volume's claimRef names, if it exists with the uid the ref has."""
    ref = _spec(volume).get("claimRef") or {}
    claim = claims.get((str(ref.get("namespace")), str(ref.get("name"))))
    if claim is None or (ref.get("uid") and _meta(claim).get("uid") != ref.get("uid")):
        return None
    return claim

