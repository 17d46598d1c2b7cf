"""PersistentVolumes, PersistentVolumeClaims and StorageClasses served as upstream serves them:
validation as upstream's pkg/apis/core/validation and pkg/apis/storage/validation (table tests),
then real kubectl against a real API server (the docs' manifests of "Configure a Pod to Use a
PersistentVolume for Storage", `kubectl get` columns, short names, the status subresources,
immutability, protobuf)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from nodelab.controlplane.errors import ApiError
from nodelab.controlplane.http import protobuf
from nodelab.controlplane.registry.storage_admission import admit_claim
from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.storage.persistentvolumes import (
    validate_persistentvolume,
    validate_persistentvolume_update,
    validate_persistentvolumeclaim,
    validate_persistentvolumeclaim_update,
)
from nodelab.controlplane.validation.storage.storageclasses import (
    validate_storageclass,
    validate_storageclass_update,
)
from tests.controlplane.apiserver import RunningApiServer

RWO = ["ReadWriteOnce"]
DEFAULT = "storageclass.kubernetes.io/is-default-class"
HOST = {"path": "/mnt/data"}


def pv(name: str = "v", **spec: Any) -> dict[str, Any]:
    base = {"capacity": {"storage": "1Gi"}, "accessModes": RWO, "hostPath": HOST}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {k: v for k, v in {**base, **spec}.items() if v is not None}}


def pvc(name: str = "c", phase: str = "", **spec: Any) -> dict[str, Any]:
    base = {"accessModes": RWO, "resources": {"requests": {"storage": "1Gi"}}}
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": name, "namespace": "default"},
             "spec": {k: v for k, v in {**base, **spec}.items() if v is not None}}
    if phase:
        claim["status"] = {"phase": phase}
    return claim


def texts(errors: FieldErrors) -> list[str]:
    return [f"{c.field}: {c.message}" for c in errors.causes]


@pytest.mark.unit
@pytest.mark.parametrize(("spec", "causes"), [
    ({}, []),
    ({"local": {"path": "/mnt/disks/a"}, "hostPath": None, "nodeAffinity": {"required": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node1"]}]}]}}}, []),
    ({"accessModes": ["ReadWriteOncePod"], "persistentVolumeReclaimPolicy": "Delete",
      "storageClassName": "manual", "volumeMode": "Filesystem"}, []),
    ({"capacity": None, "accessModes": None},
     ["spec.accessModes: Required value", "spec.capacity: Required value",
      'spec.capacity: Unsupported value: {}: supported values: "storage"']),
    ({"capacity": {"storage": "0"}},
     ['spec.capacity[storage]: Invalid value: "0": must be greater than zero']),
    ({"capacity": {"storage": "1Gi", "cpu": "1"}},
     ['spec.capacity: Unsupported value: {"storage":"1Gi","cpu":"1"}: supported values: '
      '"storage"']),
    ({"accessModes": ["ReadWriteOncePod", "ReadOnlyMany"]},
     ["spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes"]),
    ({"accessModes": ["ReadWriteSometimes"]},
     ['spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: '
      '"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"']),
    ({"persistentVolumeReclaimPolicy": "Keep"},
     ['spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep": supported values: '
      '"Delete", "Recycle", "Retain"']),
    ({"storageClassName": "Fast_Disks"},
     ['spec.storageClassName: Invalid value: "Fast_Disks": a lowercase RFC 1123 subdomain must '
      "consist of lower case alphanumeric characters, '-' or '.', and must start and end with "
      "an alphanumeric character"
      " (e.g. 'example.com',"
      " regex used for validation is "
      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"]),
    ({"hostPath": None}, ["spec: Required value: must specify a volume type"]),
    ({"hostPath": {"path": "/mnt/../etc", "type": "Folder"}},
     ['spec.hostPath.path: Invalid value: "/mnt/../etc": must not contain \'..\'',
      'spec.hostPath.type: Unsupported value: "Folder": supported values: "", "BlockDevice", '
      '"CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"']),
    ({"hostPath": {}}, ["spec.hostPath.path: Required value"]),
    ({"local": {"path": "/mnt/disks/a"}},
     ["spec.local: Forbidden: may not specify more than 1 volume type"]),
    ({"local": {"path": "/mnt/disks/a"}, "hostPath": None},
     ["spec.nodeAffinity: Required value: Local volume requires node affinity"]),
    ({"nodeAffinity": {}},
     ["spec.nodeAffinity.required: Required value: must specify required node constraints"]),
    ({"nodeAffinity": {"required": {"nodeSelectorTerms": []}}},
     ["spec.nodeAffinity.required.nodeSelectorTerms: Required value: must have at least one "
      "node selector term"]),
    # sources nodelab's kubelet cannot mount: refused, naming the field
    ({"nfs": {"server": "nfs.example", "path": "/x"}, "hostPath": None},
     ["spec.nfs: Forbidden: not supported by nodelab"]),
    ({"csi": {"driver": "x", "volumeHandle": "y"}, "hostPath": None},
     ["spec.csi: Forbidden: not supported by nodelab"]),
    ({"volumeMode": "Block"}, ["spec.volumeMode: Forbidden: not supported by nodelab"]),
    ({"mountOptions": ["ro"]}, ["spec.mountOptions: Forbidden: not supported by nodelab"]),
])
def test_persistentvolume_validation(spec: dict[str, Any], causes: list[str]) -> None:
    errors = FieldErrors()
    validate_persistentvolume(errors, pv(**spec))
    assert texts(errors) == causes


@pytest.mark.unit
@pytest.mark.parametrize(("old", "new", "causes"), [
    (pv(), pv(capacity={"storage": "5Gi"}, persistentVolumeReclaimPolicy="Delete"), []),
    (pv(), pv(claimRef={"namespace": "default", "name": "c"}), []),
    (pv(), pv(hostPath={"path": "/mnt/other"}),
     ["spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after "
      "creation"]),
    (pv(volumeMode="Filesystem"), pv(), ['volumeMode: Invalid value: null: field is immutable']),
])
def test_persistentvolume_update(old: dict[str, Any], new: dict[str, Any],
                                 causes: list[str]) -> None:
    errors = FieldErrors()
    validate_persistentvolume_update(errors, new, old)
    assert texts(errors) == causes


@pytest.mark.unit
@pytest.mark.parametrize(("spec", "causes"), [
    ({}, []),
    ({"storageClassName": "", "selector": {"matchLabels": {"type": "local"}},
      "volumeName": "v"}, []),
    ({"accessModes": None, "resources": None},
     ["spec.accessModes: Required value: at least 1 access mode is required",
      "spec.resources[storage]: Required value"]),
    ({"resources": {"requests": {"storage": "-1Gi"}}},
     ['spec.resources[storage]: Invalid value: "-1Gi": must be greater than zero']),
    ({"selector": {"matchExpressions": [{"key": "type", "operator": "In"}]}},
     ["spec.selector.matchExpressions[0].values: Required value: must be specified when "
      "`operator` is 'In' or 'NotIn'"]),
    ({"volumeMode": "Raw"},
     ['spec.volumeMode: Unsupported value: "Raw": supported values: "Block", "Filesystem"']),
    ({"dataSource": {"kind": "PersistentVolumeClaim", "name": "other"}},
     ["spec.dataSource: Forbidden: not supported by nodelab"]),
])
def test_persistentvolumeclaim_validation(spec: dict[str, Any], causes: list[str]) -> None:
    errors = FieldErrors()
    validate_persistentvolumeclaim(errors, pvc(**spec))
    assert texts(errors) == causes


IMMUTABLE_SPEC = ("spec: Forbidden: spec is immutable after creation except resources.requests "
                  "and volumeAttributesClassName for bound claims")


@pytest.mark.unit
@pytest.mark.parametrize(("old", "new", "causes"), [
    (pvc(), pvc(volumeName="v"), []),  # the binder sets volumeName once
    (pvc(volumeName="v"), pvc(volumeName="w"), [IMMUTABLE_SPEC]),
    (pvc(), pvc(accessModes=["ReadOnlyMany"]), [IMMUTABLE_SPEC]),
    (pvc(), pvc(resources={"requests": {"storage": "2Gi"}}), [IMMUTABLE_SPEC]),  # unbound
    (pvc(phase="Bound"), pvc(phase="Bound", resources={"requests": {"storage": "2Gi"}}), []),
    (pvc(phase="Bound"), pvc(phase="Bound", resources={"requests": {"storage": "512Mi"}}),
     ["spec.resources.requests.storage: Forbidden: field can not be less than previous value"]),
])
def test_persistentvolumeclaim_update(old: dict[str, Any], new: dict[str, Any],
                                      causes: list[str]) -> None:
    errors = FieldErrors()
    validate_persistentvolumeclaim_update(errors, new, old)
    assert texts(errors) == causes


def sc(**fields: Any) -> dict[str, Any]:
    base = {"provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer"}
    return {"metadata": {"name": "standard"},
            **{k: v for k, v in {**base, **fields}.items() if v is not None}}


@pytest.mark.unit
@pytest.mark.parametrize(("fields", "causes"), [
    ({}, []),
    ({"provisioner": None}, ["provisioner: Required value"]),
    ({"provisioner": "not a name"},
     ['provisioner: Invalid value: "not a name": name part must consist of alphanumeric '
      "characters, '-', '_' or '.', and must start and end with an alphanumeric character"
      " (e.g. 'MyName',  or 'my.name',  or '123-abc',"
      " regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"]),
    ({"reclaimPolicy": "Recycle"},
     ['reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"']),
    ({"volumeBindingMode": "Later"},
     ['volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", '
      '"WaitForFirstConsumer"']),
    ({"parameters": {str(i): "x" for i in range(513)}},
     ["parameters: Too many: 513: must have at most 512 items"]),
])
def test_storageclass_validation(fields: dict[str, Any], causes: list[str]) -> None:
    errors = FieldErrors()
    validate_storageclass(errors, sc(**fields))
    found = texts(errors)  # a qualified-name text may go on with upstream's "(e.g. ...)"
    assert len(found) == len(causes) and all(map(str.startswith, found, causes)), found


@pytest.mark.unit
def test_storageclass_update_keeps_what_provisioning_read() -> None:
    errors = FieldErrors()
    validate_storageclass_update(errors, sc(provisioner="example.com/other", reclaimPolicy="Retain",
                                            parameters={"a": "b"}, volumeBindingMode="Immediate",
                                            allowVolumeExpansion=True), sc())
    assert texts(errors) == [
        "parameters: Forbidden: updates to parameters are forbidden.",
        "provisioner: Forbidden: updates to provisioner are forbidden.",
        "reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.",
        'volumeBindingMode: Invalid value: "Immediate": field is immutable']


@pytest.mark.unit
@pytest.mark.parametrize("obj", [
    pv(claimRef={"kind": "PersistentVolumeClaim", "namespace": "default", "name": "c",
                 "uid": "u"}, storageClassName="manual"),
    pvc(storageClassName="", volumeName="v", selector={"matchLabels": {"a": "b"}}),
    {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", **sc(parameters={"a": "b"})},
], ids=["pv", "pvc", "sc"])
def test_protobuf_round_trip(obj: dict[str, Any]) -> None:
    body = protobuf.encode(obj)
    assert body is not None
    assert protobuf.decode(body) == obj


# --- a real API server, real kubectl ----------------------------------------------------------

# the manifests of the docs' task, as published (pods/storage/pv-volume.yaml, pv-claim.yaml)
DOCS_PV = """apiVersion: v1
kind: PersistentVolume
metadata:
  name: task-pv-volume
  labels:
    type: local
spec:
  storageClassName: manual
  capacity:
    storage: 10Gi
  accessModes:
    - ReadWriteOnce
  hostPath:
    path: "/mnt/data"
"""
DOCS_PVC = """apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: task-pv-claim
spec:
  storageClassName: manual
  accessModes:
    - ReadWriteOnce
  resources:
    requests:
      storage: 3Gi
"""


def columns(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


@pytest.mark.slow
def test_the_docs_manifests_and_kubectl_get(apiserver: RunningApiServer) -> None:
    assert apiserver.kubectl("apply", "-f", "-", input=DOCS_PV).stdout.strip() == \
        "persistentvolume/task-pv-volume created"
    assert apiserver.kubectl("apply", "-f", "-", input=DOCS_PVC).stdout.strip() == \
        "persistentvolumeclaim/task-pv-claim created"
    stored = apiserver.kubectl_json("get", "pv", "task-pv-volume")
    assert stored["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert stored["spec"]["volumeMode"] == "Filesystem"
    assert stored["spec"]["hostPath"] == {"path": "/mnt/data", "type": ""}
    assert stored["status"]["phase"] == "Pending"
    assert "lastPhaseTransitionTime" in stored["status"]
    assert "namespace" not in stored["metadata"]
    claim = apiserver.kubectl_json("get", "pvc", "task-pv-claim")
    assert (claim["status"], claim["spec"]["volumeMode"]) == ({"phase": "Pending"}, "Filesystem")

    lines = apiserver.kubectl("get", "persistentvolume").stdout.splitlines()
    assert columns(lines[0]) == ["NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS",
                                 "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON",
                                 "AGE"]
    assert lines[1].split()[:6] == ["task-pv-volume", "10Gi", "RWO", "Retain", "Pending",
                                    "manual"]
    wide = apiserver.kubectl("get", "pv", "-o", "wide").stdout.splitlines()
    assert columns(wide[0])[-1] == "VOLUMEMODE" and wide[1].split()[-1] == "Filesystem"
    lines = apiserver.kubectl("get", "pvc").stdout.splitlines()
    assert columns(lines[0]) == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES",
                                 "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"]
    assert lines[1].split()[:4] == ["task-pv-claim", "Pending", "manual", "<unset>"]

    resources = apiserver.kubectl("api-resources").stdout.splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in resources[1:]}
    assert rows["persistentvolumes"] == ["pv", "v1", "false", "PersistentVolume"]
    assert rows["persistentvolumeclaims"] == ["pvc", "v1", "true", "PersistentVolumeClaim"]
    assert rows["storageclasses"] == ["sc", "storage.k8s.io/v1", "false", "StorageClass"]
    assert "claimRef" in apiserver.kubectl("explain", "pv.spec").stdout


@pytest.mark.slow
def test_status_and_immutability(apiserver: RunningApiServer) -> None:
    apiserver.kubectl("create", "-f", "-", input=json.dumps(pv("imm")))
    apiserver.kubectl("create", "-f", "-", input=json.dumps(pvc("imm")))
    # the main resource cannot write the status; the status subresource can
    apiserver.kubectl("patch", "pv", "imm", "--type=merge", "-p",
                      '{"status": {"phase": "Available"}}')
    assert apiserver.kubectl_json("get", "pv", "imm")["status"]["phase"] == "Pending"
    before = apiserver.kubectl_json("get", "pv", "imm")["status"]["lastPhaseTransitionTime"]
    apiserver.kubectl("patch", "pv", "imm", "--subresource=status", "--type=merge", "-p",
                      '{"status": {"phase": "Available"}}')
    after = apiserver.kubectl_json("get", "pv", "imm")["status"]
    assert after["phase"] == "Available" and after["lastPhaseTransitionTime"] >= before

    moved = apiserver.kubectl("patch", "pv", "imm", "--type=merge", "-p",
                              '{"spec": {"hostPath": {"path": "/etc"}}}', check=False)
    assert moved.returncode == 1
    assert 'The PersistentVolume "imm" is invalid: spec.persistentvolumesource: Forbidden: ' \
        "spec.persistentvolumesource is immutable after creation" in moved.stderr
    grown = apiserver.kubectl("patch", "pvc", "imm", "--type=merge", "-p",
                              '{"spec": {"accessModes": ["ReadOnlyMany"]}}', check=False)
    assert "spec is immutable after creation except resources.requests" in grown.stderr
    nfs = apiserver.kubectl("create", "-f", "-", check=False, input=json.dumps(
        pv("far", hostPath=None, nfs={"server": "nfs.example", "path": "/export"})))
    assert 'The PersistentVolume "far" is invalid: spec.nfs: Forbidden: not supported by ' \
        "nodelab" in nfs.stderr


@pytest.mark.slow
def test_storage_classes_through_kubectl(apiserver: RunningApiServer) -> None:
    manifest = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": "fast", "annotations": {
                    "storageclass.kubernetes.io/is-default-class": "true"}},
                "provisioner": "rancher.io/local-path"}
    apiserver.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    stored = apiserver.kubectl_json("get", "sc", "fast")
    assert (stored["reclaimPolicy"], stored["volumeBindingMode"]) == ("Delete", "Immediate")
    lines = apiserver.kubectl("get", "storageclass").stdout.splitlines()
    assert columns(lines[0]) == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE",
                                 "ALLOWVOLUMEEXPANSION", "AGE"]
    assert columns(lines[1])[:5] == ["fast (default)", "rancher.io/local-path", "Delete",
                                     "Immediate", "false"]
    changed = apiserver.kubectl("patch", "sc", "fast", "--type=merge", "-p",
                                '{"reclaimPolicy": "Retain"}', check=False)
    assert 'reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.' in changed.stderr


@pytest.mark.unit
def test_default_storage_class_admission() -> None:
    classes: list[dict[str, Any]] = [
        {"metadata": {"name": "old", "creationTimestamp": "2026-01-01T00:00:00Z",
                      "annotations": {DEFAULT: "true"}}},
        {"metadata": {"name": "new", "creationTimestamp": "2026-02-01T00:00:00Z",
                      "annotations": {DEFAULT: "true"}}},
        {"metadata": {"name": "plain", "creationTimestamp": "2026-03-01T00:00:00Z"}}]
    unset = pvc()
    admit_claim(unset, None, classes)
    assert unset["spec"]["storageClassName"] == "new"
    chosen = pvc(storageClassName="")  # "" asks for no class: kept
    admit_claim(chosen, None, classes)
    assert chosen["spec"]["storageClassName"] == ""
    without = pvc()
    admit_claim(without, None, classes[2:])
    assert "storageClassName" not in without["spec"]


@pytest.mark.unit
@pytest.mark.parametrize(("old", "classes", "why"), [
    (pvc(), [], "Only bound persistent volume claims can be expanded"),
    (pvc(phase="Bound", storageClassName="fixed"), [{"metadata": {"name": "fixed"}}],
     "only dynamically provisioned pvc can be resized and the storageclass that provisions "
     "the pvc must support resize"),
    (pvc(phase="Bound", storageClassName="grows"),
     [{"metadata": {"name": "grows"}, "allowVolumeExpansion": True}],
     "expanding a volume is not supported by nodelab (no volume resizer runs)"),
])
def test_a_growing_claim_is_refused(old: dict[str, Any], classes: list[dict[str, Any]],
                                    why: str) -> None:
    new = json.loads(json.dumps(old))
    new["spec"]["resources"]["requests"]["storage"] = "5Gi"
    with pytest.raises(ApiError) as refused:
        admit_claim(new, old, classes)
    assert (refused.value.code, refused.value.message) == (
        403, f'persistentvolumeclaims "c" is forbidden: {why}')
    admit_claim(json.loads(json.dumps(old)), old, classes)  # the same size: no question


@pytest.mark.slow
def test_claims_get_the_default_class_and_cannot_grow(apiserver: RunningApiServer) -> None:
    apiserver.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "grows", "annotations": {DEFAULT: "true"}},
        "provisioner": "example.com/grows", "allowVolumeExpansion": True}))
    apiserver.kubectl("create", "-f", "-", input=json.dumps(pvc("defaulted")))
    assert apiserver.kubectl_json("get", "pvc", "defaulted")["spec"]["storageClassName"] in (
        "grows", "fast")  # the newest default (another test may have made `fast` one)
    grown = apiserver.kubectl("patch", "pvc", "defaulted", "--type=merge", "-p",
                              '{"spec": {"resources": {"requests": {"storage": "2Gi"}}}}',
                              check=False)
    assert 'persistentvolumeclaims "defaulted" is forbidden: Only bound persistent volume ' \
        "claims can be expanded" in grown.stderr
    apiserver.kubectl("delete", "sc", "grows")
