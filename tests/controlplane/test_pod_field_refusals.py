"""Every refused row of docs/pod-fields.md: real kubectl gets a 422 naming the field.

One pod per refused row, created through a real API server: the answer must be a 422 whose
causes include `<path>: Forbidden: not supported by nodelab`. A Deployment template with a
refused field is refused the same way, and an allowed value of a value-restricted row passes.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from nodelab.kube.pod.fields import REFUSED, TABLE
from tests.controlplane.apiserver import RunningApiServer

pytestmark = pytest.mark.slow

C = "spec.containers[0]"
VOLUME = "spec.volumes[1]"
# refused row -> (path in the pod that the 422 names, a patch setting it: applied at that path)
SAMPLES: dict[str, tuple[str, Any]] = {
    "PodSpec.evictionResponders": ("spec.evictionResponders", [{"name": "r", "priority": 1}]),
    "PodSpec.hostUsers": ("spec.hostUsers", False),
    "PodSpec.hostnameOverride": ("spec.hostnameOverride", "other"),
    "PodSpec.os": ("spec.os", {"name": "windows"}),
    "PodSpec.overhead": ("spec.overhead", {"cpu": "100m"}),
    "PodSpec.resourceClaims": ("spec.resourceClaims", [{"name": "gpu",
                                                        "resourceClaimName": "gpu"}]),
    "PodSpec.resources": ("spec.resources", {"limits": {"cpu": "1"}}),
    "PodSpec.runtimeClassName": ("spec.runtimeClassName", "gvisor"),
    "PodSpec.schedulingGates": ("spec.schedulingGates", [{"name": "example.com/wait"}]),
    "PodSpec.schedulingGroup": ("spec.schedulingGroup", {"podGroupName": "g"}),
    "PodSpec.setHostnameAsFQDN": ("spec.setHostnameAsFQDN", True),
    "Container.resizePolicy": (f"{C}.resizePolicy", [{"resourceName": "cpu",
                                                      "restartPolicy": "NotRequired"}]),
    "Container.restartPolicyRules": (f"{C}.restartPolicyRules", [{
        "action": "Restart", "exitCodes": {"operator": "In", "values": [42]}}]),
    "Container.volumeDevices": (f"{C}.volumeDevices", [{"name": "scratch",
                                                        "devicePath": "/dev/xvda"}]),
    "SecurityContext.appArmorProfile": (f"{C}.securityContext.appArmorProfile",
                                        {"type": "RuntimeDefault"}),
    "SecurityContext.procMount": (f"{C}.securityContext.procMount", "Unmasked"),
    "SecurityContext.seLinuxOptions": (f"{C}.securityContext.seLinuxOptions", {"level": "s0"}),
    "SecurityContext.windowsOptions": (f"{C}.securityContext.windowsOptions",
                                       {"runAsUserName": "ContainerUser"}),
    "PodSecurityContext.appArmorProfile": ("spec.securityContext.appArmorProfile",
                                           {"type": "RuntimeDefault"}),
    "PodSecurityContext.seLinuxChangePolicy": ("spec.securityContext.seLinuxChangePolicy",
                                               "MountOption"),
    "PodSecurityContext.seLinuxOptions": ("spec.securityContext.seLinuxOptions",
                                          {"level": "s0"}),
    "PodSecurityContext.windowsOptions": ("spec.securityContext.windowsOptions",
                                          {"runAsUserName": "ContainerUser"}),
    "Lifecycle.stopSignal": (f"{C}.lifecycle.stopSignal", "SIGUSR1"),
}
VOLUMES: dict[str, Any] = {
    "awsElasticBlockStore": {"volumeID": "vol-1"}, "azureDisk": {"diskName": "d",
                                                                 "diskURI": "u"},
    "azureFile": {"secretName": "s", "shareName": "x"}, "cephfs": {"monitors": ["m"]},
    "cinder": {"volumeID": "v"}, "csi": {"driver": "example.com"},
    "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"],
                                                   "resources": {"requests":
                                                                 {"storage": "1Gi"}}}}},
    "fc": {"wwids": ["w"]}, "flexVolume": {"driver": "example.com/flex"},
    "flocker": {"datasetName": "d"}, "gcePersistentDisk": {"pdName": "p"},
    "gitRepo": {"repository": "https://example.com/r.git"},
    "glusterfs": {"endpoints": "e", "path": "p"}, "image": {"reference": "busybox"},
    "iscsi": {"targetPortal": "10.0.0.1:3260", "iqn": "iqn.2001-04.com.example:storage",
              "lun": 0},
    "nfs": {"server": "10.0.0.1", "path": "/export"},
    "photonPersistentDisk": {"pdID": "p"}, "portworxVolume": {"volumeID": "v"},
    "quobyte": {"registry": "r:7861", "volume": "v"},
    "rbd": {"monitors": ["m"], "image": "i"},
    "scaleIO": {"gateway": "g", "system": "s", "secretRef": {"name": "s"}},
    "storageos": {"volumeName": "v"}, "vsphereVolume": {"volumePath": "/p"},
}
for _plugin, _source in VOLUMES.items():
    SAMPLES[f"Volume.{_plugin}"] = (f"{VOLUME}.{_plugin}", _source)
E = "spec.ephemeralContainers[0]"
EPHEMERAL: dict[str, Any] = {
    "lifecycle": {"preStop": {"exec": {"command": ["true"]}}},
    "livenessProbe": {"exec": {"command": ["true"]}},
    "readinessProbe": {"exec": {"command": ["true"]}},
    "startupProbe": {"exec": {"command": ["true"]}},
    "ports": [{"containerPort": 80}], "resources": {"limits": {"cpu": "1"}},
    "restartPolicy": "Always",
}
for _field, _value in EPHEMERAL.items():
    SAMPLES[f"EphemeralContainer.{_field}"] = (f"{E}.{_field}", _value)
for _field in ("resizePolicy", "restartPolicyRules", "volumeDevices"):
    SAMPLES[f"EphemeralContainer.{_field}"] = (f"{E}.{_field}",
                                               SAMPLES[f"Container.{_field}"][1])

BASE: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "refused"},
    "spec": {"containers": [{"name": "c", "image": "busybox",
                             "livenessProbe": {"exec": {"command": ["true"]}},
                             "lifecycle": {"postStart": {"exec": {"command": ["true"]}}},
                             "securityContext": {}}],
             "securityContext": {}, "affinity": {"nodeAffinity": {}},
             "volumes": [{"name": "scratch", "emptyDir": {}}]},
}


def _set(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `obj` with `path` (`spec.containers[0].x`, `spec.volumes[1].nfs`) set."""
    out = copy.deepcopy(obj)
    target: Any = out
    parts = path.split(".")
    for part in parts[:-1]:
        name, _, index = part.partition("[")
        target = target.setdefault(name, [] if index else {})
        if index:
            i = int(index.rstrip("]"))
            while len(target) <= i:
                target.append({"name": f"v{len(target)}"})
            target = target[i]
    target[parts[-1]] = value
    return out


def _refused_rows() -> list[str]:
    return [k for k, r in TABLE.items() if r.status == REFUSED]


def test_every_refused_row_has_a_sample() -> None:
    assert sorted(_refused_rows()) == sorted(SAMPLES)


def _create(apiserver: RunningApiServer, obj: dict[str, Any]) -> tuple[int, str]:
    result = apiserver.kubectl("create", "-f", "-", "-o", "name", input=json.dumps(obj),
                               check=False)
    if result.returncode == 0:
        apiserver.kubectl("delete", obj["kind"].lower(), obj["metadata"]["name"], "--wait=false")
    return result.returncode, result.stderr


@pytest.mark.parametrize("row", sorted(SAMPLES))
def test_a_refused_field_gets_a_422(apiserver: RunningApiServer, row: str) -> None:
    path, value = SAMPLES[row]
    pod = BASE
    if path.startswith(E):  # (upstream refuses ephemeral containers on create as well)
        pod = _set(BASE, "spec.ephemeralContainers", [{"name": "dbg", "image": "busybox"}])
    code, stderr = _create(apiserver, _set(pod, path, value))
    assert code != 0, f"{row} was accepted"
    assert "is invalid" in stderr, stderr  # kubectl's wording of a 422
    assert f"{path}: Forbidden: not supported by nodelab" in stderr, stderr


def test_templates_are_refused_and_allowed_values_pass(apiserver: RunningApiServer) -> None:
    template = _set(BASE, "spec.hostUsers", False)
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": {
                      "metadata": {"labels": {"app": "d"}}, "spec": template["spec"]}}}
    code, stderr = _create(apiserver, deployment)
    assert code != 0
    assert "spec.template.spec.hostUsers: Forbidden: not supported by nodelab" in stderr
    allowed = _set(_set(_set(BASE, "spec.hostUsers", True), "spec.os", {"name": "linux"}),
                   f"{C}.securityContext.procMount", "Default")
    code, stderr = _create(apiserver, allowed)
    assert code == 0, stderr
