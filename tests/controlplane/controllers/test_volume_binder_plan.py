"""The PersistentVolume binder's decisions (binder_plan.py, kube/persistent_volumes.py)
against upstream's pv_controller.go and index.go: table tests of which volume a claim gets,
what each sync writes, and the events with upstream's texts."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.controllers.volume.binder_plan import (
    Patch,
    Plan,
    World,
    bind,
    claim_of,
    plan_claim,
    plan_volume,
)
from nodelab.controlplane.controllers.volume.protection_plan import (
    claims_to_release,
    volumes_to_release,
    without,
)
from nodelab.kube.persistent_volumes import (
    BIND_COMPLETED,
    BOUND_BY_CONTROLLER,
    best_match,
    default_class,
)

pytestmark = pytest.mark.unit

RWO, ROX, RWX = "ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"


def pv(name: str, size: str = "10Gi", modes: tuple[str, ...] = (RWO,), cls: str = "",
       phase: str = "Available", ref: dict[str, Any] | None = None,
       labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
       **spec: Any) -> dict[str, Any]:
    volume: dict[str, Any] = {
        "metadata": {"name": name, "uid": f"uid-{name}", "labels": labels or {},
                     "annotations": annotations or {}},
        "spec": {"capacity": {"storage": size}, "accessModes": list(modes),
                 "persistentVolumeReclaimPolicy": "Retain", "volumeMode": "Filesystem",
                 "hostPath": {"path": f"/mnt/{name}"}, **spec},
        "status": {"phase": phase}}
    if cls:
        volume["spec"]["storageClassName"] = cls
    if ref is not None:
        volume["spec"]["claimRef"] = ref
    return volume


def pvc(name: str = "c", size: str = "3Gi", modes: tuple[str, ...] = (RWO,),
        cls: str | None = "", volume: str = "", phase: str = "Pending",
        annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    claim: dict[str, Any] = {
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                     "resourceVersion": "7", "annotations": annotations or {}},
        "spec": {"accessModes": list(modes), "resources": {"requests": {"storage": size}},
                 "volumeMode": "Filesystem", **spec},
        "status": {"phase": phase}}
    if cls is not None:
        claim["spec"]["storageClassName"] = cls
    if volume:
        claim["spec"]["volumeName"] = volume
    return claim


def ref(name: str = "c", uid: str | None = "uid-c") -> dict[str, Any]:
    return {"kind": "PersistentVolumeClaim", "namespace": "default", "name": name,
            **({"uid": uid} if uid is not None else {})}


def world(*volumes: dict[str, Any], classes: tuple[dict[str, Any], ...] = (),
          pods: tuple[dict[str, Any], ...] = ()) -> World:
    return World(volumes={v["metadata"]["name"]: v for v in volumes},
                 classes={c["metadata"]["name"]: c for c in classes}, pods=pods,
                 provisioners=frozenset({"rancher.io/local-path"}))


def sc(name: str, provisioner: str = "rancher.io/local-path", mode: str = "Immediate",
       default: bool = False, created: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
    return {"metadata": {"name": name, "annotations": annotations,
                         "creationTimestamp": created},
            "provisioner": provisioner, "volumeBindingMode": mode}


@pytest.mark.parametrize(("claim", "volumes", "chosen"), [
    (pvc(), [pv("big", "20Gi"), pv("small", "5Gi"), pv("tiny", "1Gi")], "small"),
    (pvc(cls="manual"), [pv("plain"), pv("manual", cls="manual")], "manual"),
    (pvc(cls="manual"), [pv("plain")], None),
    (pvc(), [pv("manual", cls="manual")], None),  # "" asks for volumes without a class
    (pvc(modes=(RWX,)), [pv("rwo"), pv("rwx", modes=(RWO, RWX))], "rwx"),
    # the fewest modes first, however big
    (pvc(), [pv("both", "5Gi", modes=(RWO, ROX)), pv("one", "50Gi")], "one"),
    (pvc(selector={"matchLabels": {"type": "local"}}),
     [pv("other", "5Gi"), pv("local", "9Gi", labels={"type": "local"})], "local"),
    (pvc(), [pv("taken", ref=ref("other"))], None),
    (pvc(), [pv("released", phase="Released")], None),
    (pvc(), [pv("gone", metadata_deleted=True)], None),
    (pvc(), [pv("block", volumeMode="Block")], None),
    # reserved for the claim: chosen whatever its phase and class, before smaller ones
    (pvc(), [pv("small", "4Gi"), pv("mine", "9Gi", cls="x", phase="Pending",
                                    ref=ref(uid=None))], "mine"),
    (pvc(size="20Gi"), [pv("mine", ref=ref(uid=None))], None),
])
def test_best_match(claim: dict[str, Any], volumes: list[dict[str, Any]],
                    chosen: str | None) -> None:
    for volume in volumes:
        if volume["spec"].pop("metadata_deleted", False):
            volume["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    found = best_match(claim, volumes)
    assert (found["metadata"]["name"] if found else None) == chosen


def test_delayed_binding_takes_only_a_reserved_volume() -> None:
    assert best_match(pvc(), [pv("free")], delay_binding=True) is None
    assert best_match(pvc(), [pv("mine", ref=ref())], delay_binding=True) is not None


def test_binding_writes_volume_then_claim() -> None:
    volume, claim = pv("v"), pvc()
    assert bind(volume, claim) == [
        Patch("persistentvolumes", "", "v", {
            "spec": {"claimRef": {**ref(), "apiVersion": "v1", "resourceVersion": "7"}},
            "metadata": {"annotations": {BOUND_BY_CONTROLLER: "yes"}}}),
        Patch("persistentvolumes", "", "v", {"status": {"phase": "Bound", "message": None}},
              "status"),
        Patch("persistentvolumeclaims", "default", "c", {
            "metadata": {"annotations": {BIND_COMPLETED: "yes", BOUND_BY_CONTROLLER: "yes"}},
            "spec": {"volumeName": "v"}}),
        Patch("persistentvolumeclaims", "default", "c", {"status": {
            "phase": "Bound", "accessModes": [RWO], "capacity": {"storage": "10Gi"}}},
            "status")]


def test_a_finished_binding_writes_nothing() -> None:
    volume = pv("v", phase="Bound", ref=ref())
    claim = pvc(volume="v", phase="Bound", annotations={BIND_COMPLETED: "yes"})
    claim["status"].update(accessModes=[RWO], capacity={"storage": "10Gi"})
    assert plan_claim(claim, world(volume)) == Plan()
    assert plan_volume(volume, claim, world(volume)) == Plan()


def test_a_pre_bound_claim_does_not_mark_bound_by_controller() -> None:
    patches = bind(pv("v", ref=ref(uid=None)), pvc(volume="v"))
    assert patches[0].body == {"spec": {"claimRef": {**ref(), "apiVersion": "v1",
                                                     "resourceVersion": "7"}}}
    assert patches[2].body == {"metadata": {"annotations": {BIND_COMPLETED: "yes"}},
                               "spec": {"volumeName": "v"}}


def events(plan: Plan) -> list[tuple[str, str, str]]:
    return [(e.type, e.reason, e.message) for e in plan.events]


@pytest.mark.parametrize(("claim", "w", "said"), [
    (pvc(), world(), [("Normal", "FailedBinding", "no persistent volumes available for this "
                       "claim and no storage class is set")]),
    (pvc(cls="fast"), world(), [("Warning", "ProvisioningFailed",
                                 'storageclass.storage.k8s.io "fast" not found')]),
    (pvc(cls="local"), world(classes=(sc("local", "kubernetes.io/no-provisioner"),)),
     [("Warning", "ProvisioningFailed", "no volume plugin matched name: "
       "kubernetes.io/no-provisioner")]),
    (pvc(cls="std"), world(classes=(sc("std", "example.com/nfs"),)),
     [("Normal", "ExternalProvisioning", "Waiting for a volume to be created either by the "
       "external provisioner 'example.com/nfs' or manually by the system administrator. If "
       "volume creation is delayed, please verify that the provisioner is running and "
       "correctly registered.")]),
    (pvc(cls="late"), world(pv("free", cls="late"),
                            classes=(sc("late", mode="WaitForFirstConsumer"),)),
     [("Normal", "WaitForFirstConsumer", "waiting for first consumer to be created before "
       "binding")]),
    (pvc(cls="late"), world(classes=(sc("late", mode="WaitForFirstConsumer"),), pods=(
        {"metadata": {"name": "p", "namespace": "default"},
         "spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "c"}}]}},)),
     [("Normal", "WaitForPodScheduled", "waiting for pod p to be scheduled")]),
    (pvc(volume="v", size="20Gi"), world(pv("v")),
     [("Warning", "VolumeMismatch", 'Cannot bind to requested volume "v": requested PV is too '
       "small")]),
    (pvc(volume="v", cls="x"), world(pv("v")),
     [("Warning", "VolumeMismatch", 'Cannot bind to requested volume "v": storageClassName '
       "does not match")]),
    (pvc(volume="v", modes=(RWX,)), world(pv("v")),
     [("Warning", "VolumeMismatch", 'Cannot bind to requested volume "v": incompatible '
       "accessMode")]),
    (pvc(volume="v"), world(pv("v", ref=ref("other"))),
     [("Warning", "FailedBinding", 'volume "v" already bound to a different claim.')]),
    (pvc(volume="missing"), world(), []),
    (pvc(volume="v", annotations={BIND_COMPLETED: "yes"}), world(),
     [("Warning", "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume "
       "is lost!")]),
    (pvc(annotations={BIND_COMPLETED: "yes"}), world(),
     [("Warning", "ClaimLost", "Bound claim has lost reference to PersistentVolume. Data on "
       "the volume is lost!")]),
    (pvc(volume="v", annotations={BIND_COMPLETED: "yes"}),
     world(pv("v", ref=ref("other", "uid-other"))),
     [("Warning", "ClaimMisbound", "Two claims are bound to the same volume, this one is bound "
       "incorrectly")]),
])
def test_claim_events(claim: dict[str, Any], w: World, said: list[tuple[str, str, str]]
                      ) -> None:
    assert events(plan_claim(claim, w)) == said


def test_lost_claims_go_lost() -> None:
    plan = plan_claim(pvc(volume="v", phase="Bound", annotations={BIND_COMPLETED: "yes"}),
                      world())
    assert plan.patches == [Patch("persistentvolumeclaims", "default", "c", {"status": {
        "phase": "Lost", "accessModes": None, "capacity": None}}, "status")]


def test_a_claim_without_class_gets_the_newest_default() -> None:
    classes = (sc("old", default=True), sc("new", default=True, created="2026-02-01T00:00:00Z"),
               sc("plain"))
    assert default_class(classes) == "new"
    plan = plan_claim(pvc(cls=None), world(pv("v"), classes=classes))
    assert plan.patches == [Patch("persistentvolumeclaims", "default", "c",
                                  {"spec": {"storageClassName": "new"}})]
    # "" is a choice: no default, a volume without class
    assert plan_claim(pvc(cls=""), world(pv("v"), classes=classes)).patches[0].kind == \
        "persistentvolumes"


def test_external_provisioning_annotates_the_claim() -> None:
    plan = plan_claim(pvc(cls="std"), world(classes=(sc("std", "example.com/nfs"),)))
    assert plan.patches == [Patch("persistentvolumeclaims", "default", "c", {"metadata": {
        "annotations": {"volume.kubernetes.io/storage-provisioner": "example.com/nfs",
                        "volume.beta.kubernetes.io/storage-provisioner": "example.com/nfs"}}})]


def phases(plan: Plan) -> list[Any]:
    return [p.body["status"]["phase"] for p in plan.patches if p.subresource == "status"]


@pytest.mark.parametrize(("volume", "claim", "wanted"), [
    (pv("v", phase="Pending"), None, ["Available"]),
    (pv("v", phase="Pending", ref=ref(uid=None)), None, ["Available"]),  # reserved
    (pv("v", phase="Available", ref=ref()), pvc(volume="v"), ["Bound"]),
    (pv("v", phase="Bound", ref=ref()), None, ["Released"]),  # Retain keeps it
    (pv("v", phase="Released", ref=ref()), None, []),
    (pv("v", phase="Bound", ref=ref(), persistentVolumeReclaimPolicy="Delete"), None,
     ["Failed"]),
])
def test_volume_phases(volume: dict[str, Any], claim: dict[str, Any] | None,
                       wanted: list[str]) -> None:
    assert phases(plan_volume(volume, claim, world(volume))) == wanted


def test_delete_fails_for_a_learners_host_path() -> None:
    volume = pv("v", phase="Bound", ref=ref(), persistentVolumeReclaimPolicy="Delete")
    plan = plan_volume(volume, None, world(volume))
    assert plan.deletes == []
    assert plan.patches[-1].body["status"]["message"] == \
        "host_path deleter only supports /tmp/.+ but received provided /mnt/v"
    assert events(plan) == [("Warning", "VolumeFailedDelete", "host_path deleter only supports "
                             "/tmp/.+ but received provided /mnt/v")]


def test_delete_of_a_provisioned_volume_goes_to_its_provisioner() -> None:
    volume = pv("v", phase="Bound", ref=ref(), persistentVolumeReclaimPolicy="Delete",
                annotations={"pv.kubernetes.io/provisioned-by": "rancher.io/local-path"})
    plan = plan_volume(volume, None, world(volume))
    assert (phases(plan), plan.deletes) == (["Released"], ["v"])


def test_a_volume_the_controller_reserved_for_a_claim_bound_elsewhere_is_freed() -> None:
    volume = pv("v", phase="Bound", ref=ref(), annotations={BOUND_BY_CONTROLLER: "yes"})
    plan = plan_volume(volume, pvc(volume="w"), world(volume))
    assert plan.patches[0].body == {"spec": {"claimRef": None}, "metadata": {
        "annotations": {BOUND_BY_CONTROLLER: None}}}
    assert phases(plan) == ["Available"]
    by_user = plan_volume(pv("v", phase="Bound", ref=ref()), pvc(volume="w"), world())
    assert by_user.patches[0].body == {"spec": {"claimRef": {"uid": None}}}


def test_claim_of_checks_the_uid() -> None:
    claims = {("default", "c"): pvc()}
    assert claim_of(pv("v", ref=ref()), claims) is claims[("default", "c")]
    assert claim_of(pv("v", ref=ref(uid="uid-old")), claims) is None
    assert claim_of(pv("v", ref=ref("gone")), claims) is None


def test_protection_releases_what_nothing_uses() -> None:
    deleting = {"deletionTimestamp": "2026-01-01T00:00:00Z",
                "finalizers": ["kubernetes.io/pvc-protection", "example.com/other"]}
    used, unused = pvc("used"), pvc("unused")
    for claim in (used, unused):
        claim["metadata"].update(deleting)
    pods = [{"metadata": {"namespace": "default", "name": "p"}, "status": {"phase": "Running"},
             "spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "used"}}]}},
            {"metadata": {"namespace": "default", "name": "done"},
             "status": {"phase": "Succeeded"},
             "spec": {"volumes": [{"name": "d",
                                   "persistentVolumeClaim": {"claimName": "unused"}}]}}]
    assert [c["metadata"]["name"] for c in claims_to_release([used, unused], pods)] == ["unused"]
    assert without(unused, "kubernetes.io/pvc-protection") == ["example.com/other"]
    bound, released = pv("bound", phase="Bound"), pv("released", phase="Released")
    for volume in (bound, released):
        volume["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z",
                                  finalizers=["kubernetes.io/pv-protection"])
    assert [v["metadata"]["name"] for v in volumes_to_release([bound, released])] == \
        ["released"]
