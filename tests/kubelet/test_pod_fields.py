"""Pod fields on a real lab, asserted from inside the container (see docs/pod-fields.md).

One one-node lab serves the module; each test applies ordinary manifests with real kubectl and
reads the effect the container sees: its environment (printed by the container itself), its
`id`, `/proc/self/status`, files and exit codes. Pods run to completion (`restartPolicy:
Never`) and print what is asserted, so one `kubectl logs` read answers several rows.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from typing import Any

import pytest

from nodelab.lab.lab import Lab, take_down_lab
from tests.conftest import unique_lab_name
from tests.lab.kube import eventually, kubectl, kubectl_json

pytestmark = [pytest.mark.slow, pytest.mark.privileged]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    if os.geteuid() != 0:
        pytest.skip("needs root: a real lab")
    name = unique_lab_name()
    try:
        yield Lab.up(name, 1, progress=lambda _m: None)
    finally:
        take_down_lab(name)


def apply(lab: Lab, manifest: str) -> None:
    kubectl(lab, "apply", "-f", "-", input=manifest)


def phase(lab: Lab, pod: str) -> str:
    return str(kubectl_json(lab, "get", "pod", pod)["status"].get("phase", ""))


def finished(lab: Lab, pod: str) -> str:
    """The pod's logs once it Succeeded (fails the test if it Failed)."""
    done = eventually(lambda: phase(lab, pod) in ("Succeeded", "Failed") and phase(lab, pod),
                      timeout=90)
    logs = kubectl(lab, "logs", pod)
    assert done == "Succeeded", f"pod {pod} {done}: {logs}"
    return logs


def env_lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def waiting(lab: Lab, pod: str) -> dict[str, Any]:
    statuses = kubectl_json(lab, "get", "pod", pod)["status"].get("containerStatuses") or [{}]
    return dict((statuses[0].get("state") or {}).get("waiting") or {})


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --- environment -----------------------------------------------------------------------------


def test_environment_sources_expansion_and_service_variables(lab: Lab) -> None:
    apply(lab, f"""
apiVersion: v1
kind: ConfigMap
metadata: {{name: envcfg}}
data: {{COLOR: blue, 1bad: x}}
---
apiVersion: v1
kind: Secret
metadata: {{name: envsecret}}
data: {{USER: {b64("admin")}}}
---
apiVersion: v1
kind: Service
metadata: {{name: my-svc}}
spec:
  selector: {{app: nothing}}
  ports: [{{name: http, port: 80}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: envpod, labels: {{app: envpod}}, annotations: {{team: blue}}}}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: {lab.images.ref("busybox")}
    command: [sh, -c, "env; echo CMD=$(GREETING) '$$(GREETING)'"]
    resources: {{limits: {{memory: 64Mi, cpu: 500m}}}}
    envFrom:
    - configMapRef: {{name: envcfg}}
    - {{prefix: DB_, secretRef: {{name: envsecret}}}}
    env:
    - {{name: COLOR, value: "dark-$(COLOR)"}}
    - name: WHO
      valueFrom: {{secretKeyRef: {{name: envsecret, key: USER}}}}
    - {{name: GREETING, value: "hi-$(WHO)"}}
    - {{name: MISSING_OK, valueFrom: {{configMapKeyRef: {{name: nope, key: k, optional: true}}}}}}
    - {{name: POD_NAME, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}
    - {{name: POD_NS, valueFrom: {{fieldRef: {{fieldPath: metadata.namespace}}}}}}
    - {{name: POD_UID, valueFrom: {{fieldRef: {{fieldPath: metadata.uid}}}}}}
    - {{name: APP, valueFrom: {{fieldRef: {{fieldPath: "metadata.labels['app']"}}}}}}
    - {{name: TEAM, valueFrom: {{fieldRef: {{fieldPath: "metadata.annotations['team']"}}}}}}
    - {{name: NODE, valueFrom: {{fieldRef: {{fieldPath: spec.nodeName}}}}}}
    - {{name: SA, valueFrom: {{fieldRef: {{fieldPath: spec.serviceAccountName}}}}}}
    - {{name: POD_IP, valueFrom: {{fieldRef: {{fieldPath: status.podIP}}}}}}
    - {{name: POD_IPS, valueFrom: {{fieldRef: {{fieldPath: status.podIPs}}}}}}
    - {{name: HOST_IP, valueFrom: {{fieldRef: {{fieldPath: status.hostIP}}}}}}
    - {{name: HOST_IPS, valueFrom: {{fieldRef: {{fieldPath: status.hostIPs}}}}}}
    - name: MEM_MI
      valueFrom: {{resourceFieldRef: {{resource: limits.memory, divisor: 1Mi}}}}
    - name: CPU_M
      valueFrom: {{resourceFieldRef: {{resource: limits.cpu, divisor: 1m}}}}
""")
    env = env_lines(finished(lab, "envpod"))
    pod = kubectl_json(lab, "get", "pod", "envpod")
    node = kubectl_json(lab, "get", "node", pod["spec"]["nodeName"])
    node_ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    assert env["COLOR"] == "dark-blue" and env["DB_USER"] == "admin" and env["WHO"] == "admin"
    assert env["GREETING"] == "hi-admin" and env["CMD"] == "hi-admin $(GREETING)"
    assert "1bad" not in env and "MISSING_OK" not in env
    assert env["POD_NAME"] == "envpod" and env["POD_NS"] == "default"
    assert env["POD_UID"] == pod["metadata"]["uid"]
    assert env["APP"] == "envpod" and env["TEAM"] == "blue"
    assert env["NODE"] == pod["spec"]["nodeName"] and env["SA"] == "default"
    assert env["POD_IP"] == pod["status"]["podIP"] == env["POD_IPS"]
    assert env["HOST_IP"] == node_ip == env["HOST_IPS"]
    assert env["MEM_MI"] == "64" and env["CPU_M"] == "500"
    assert env["HOSTNAME"] == "envpod"
    service = kubectl_json(lab, "get", "service", "my-svc")["spec"]["clusterIP"]
    assert env["MY_SVC_SERVICE_HOST"] == service and env["MY_SVC_SERVICE_PORT_HTTP"] == "80"
    assert env["MY_SVC_PORT_80_TCP"] == f"tcp://{service}:80"
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert env["KUBERNETES_SERVICE_PORT"] == "443"
    events = kubectl_json(lab, "get", "events", "--field-selector",
                          "involvedObject.name=envpod")["items"]
    assert any(e["reason"] == "InvalidEnvironmentVariableNames" and e["message"] ==
               "Keys [1bad] from the EnvFrom configmap default/envcfg were skipped since they "
               "are considered invalid environment variable names." for e in events), events


def test_a_missing_source_holds_the_container_until_it_appears(lab: Lab) -> None:
    apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: needscfg}}
spec:
  restartPolicy: Never
  enableServiceLinks: false
  containers:
  - name: c
    image: {lab.images.ref("busybox")}
    command: [sh, -c, env]
    env:
    - name: LATER
      valueFrom: {{configMapKeyRef: {{name: later, key: k}}}}
""")
    state = eventually(lambda: waiting(lab, "needscfg").get("reason") ==
                       "CreateContainerConfigError" and waiting(lab, "needscfg"))
    assert state["message"] == 'configmap "later" not found'
    assert phase(lab, "needscfg") == "Pending"
    kubectl(lab, "create", "configmap", "later", "--from-literal=k=now")
    env = env_lines(finished(lab, "needscfg"))
    assert env["LATER"] == "now"
    assert "KUBERNETES_SERVICE_HOST" in env  # the master service even without service links
    assert not any(k.startswith("MY_SVC") for k in env)
