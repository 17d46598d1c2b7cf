"""Pod fields on a real lab, asserted from inside the container (see docs/pod-fields.md),
and interactive use (`kubectl run --rm -i`).

One one-node lab serves the module; each test applies ordinary manifests with real kubectl and
reads the effect the container sees: its environment (printed by the container itself), its
`id`, `/proc/self/status`, files and exit codes. Pods run to completion (`restartPolicy:
Never`) and print what is asserted, so one `kubectl logs` read answers several rows.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nodelab.kube.quantities import parse_quantity
from nodelab.lab.lab import Lab
from tests.conftest import one_node_lab
from tests.lab.kube import KUBECTL, eventually, in_node, kubectl, kubectl_json

pytestmark = [pytest.mark.slow, pytest.mark.privileged]


RUNTIME = os.environ.get("NODELAB_POD_FIELDS_RUNTIME", "nodelab")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with one_node_lab(runtime=RUNTIME) as lab:
        yield lab


def apply(lab: Lab, manifest: str) -> None:
    kubectl(lab, "apply", "-f", "-", input=manifest)


def phase(lab: Lab, pod: str) -> str:
    return str(kubectl_json(lab, "get", "pod", pod)["status"].get("phase", ""))


def finished(lab: Lab, pod: str) -> str:
    """The pod's logs once it Succeeded (fails the test if it Failed)."""
    try:
        done = eventually(lambda: phase(lab, pod) in ("Succeeded", "Failed") and phase(lab, pod),
                          timeout=90)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{kubectl(lab, 'describe', 'pod', pod)}") from None
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


# --- security context ------------------------------------------------------------------------


def status_fields(text: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in
                                                  text.splitlines()) if v}


def test_users_groups_and_process_security(lab: Lab) -> None:
    apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: secpod}}
spec:
  restartPolicy: Never
  securityContext:
    runAsUser: 1234
    runAsGroup: 5678
    fsGroup: 2000
    supplementalGroups: [3000]
    sysctls: [{{name: kernel.shm_rmid_forced, value: "1"}}]
  volumes: [{{name: data, emptyDir: {{}}}}]
  containers:
  - name: ids
    image: {lab.images.ref("busybox")}
    command: [sh, -c, "id -u; id -g; id -G; stat -c 'data=%g %A' /data; touch /data/f;
      stat -c 'file=%g' /data/f; grep -E 'NoNewPrivs|Seccomp:|CapBnd' /proc/self/status;
      touch /rootfs-probe 2>/dev/null && echo rootfs=rw || echo rootfs=ro;
      cat /proc/sys/kernel/shm_rmid_forced"]
    volumeMounts: [{{name: data, mountPath: /data}}]
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      seccompProfile: {{type: RuntimeDefault}}
      capabilities: {{drop: [ALL], add: [NET_BIND_SERVICE]}}
  - name: root
    image: {lab.images.ref("busybox")}
    command: [sh, -c, "id -u; grep -E 'NoNewPrivs|Seccomp:|CapEff' /proc/self/status;
      touch /rootfs-probe && echo rootfs=rw"]
    securityContext: {{runAsUser: 0, privileged: true}}
""")
    done = eventually(lambda: phase(lab, "secpod") in ("Succeeded", "Failed") and
                      phase(lab, "secpod"), timeout=90)
    ids = kubectl(lab, "logs", "secpod", "-c", "ids").split("\n")
    root = kubectl(lab, "logs", "secpod", "-c", "root")
    assert done == "Succeeded", (ids, root, kubectl(lab, "describe", "pod", "secpod"))
    assert ids[0] == "1234" and ids[1] == "5678"
    assert set(ids[2].split()) == {"5678", "2000", "3000"}
    assert ids[3].startswith("data=2000 drwxrwsrwx")  # emptyDir 0777 + fsGroup's setgid
    assert ids[4] == "file=2000"
    status = status_fields("\n".join(ids[5:8]))
    assert status["NoNewPrivs"] == "1" and status["Seccomp"] == "2"
    assert status["CapBnd"] == "0000000000000400"  # NET_BIND_SERVICE only
    assert ids[8] == "rootfs=ro" and ids[9] == "1"
    lines = root.split("\n")
    fields = status_fields(root)
    assert lines[0] == "0" and fields["NoNewPrivs"] == "0" and fields["Seccomp"] == "0"
    assert fields["CapEff"] == status_fields(Path("/proc/self/status").read_text())["CapBnd"]
    assert "rootfs=rw" in root


def test_run_as_non_root_refuses_a_root_image(lab: Lab) -> None:
    apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: nonroot}}
spec:
  securityContext: {{runAsNonRoot: true}}
  containers:
  - {{name: c, image: {lab.images.ref("busybox")}, command: [sleep, "3600"]}}
""")
    state = eventually(lambda: waiting(lab, "nonroot").get("reason") ==
                       "CreateContainerConfigError" and waiting(lab, "nonroot"))
    uid = kubectl_json(lab, "get", "pod", "nonroot")["metadata"]["uid"]
    assert state["message"] == ("container has runAsNonRoot and image will run as root "
                                f'(pod: "nonroot_default({uid})", container: c)')
    kubectl(lab, "delete", "pod", "nonroot", "--grace-period=0", "--wait=false")


def test_an_unsafe_sysctl_is_rejected_at_admission(lab: Lab) -> None:
    apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: unsafe}}
spec:
  securityContext:
    sysctls: [{{name: kernel.msgmax, value: "65536"}}]
  containers:
  - {{name: c, image: {lab.images.ref("busybox")}, command: [sleep, "3600"]}}
""")
    status = eventually(lambda: phase(lab, "unsafe") == "Failed" and
                        kubectl_json(lab, "get", "pod", "unsafe")["status"])
    assert status["reason"] == "SysctlForbidden"
    assert status["message"] == ('Pod was rejected: forbidden sysctl: "kernel.msgmax" not '
                                 "allowlisted")
    assert not status.get("containerStatuses")


def test_a_pod_bound_by_node_name_beyond_allocatable_is_rejected_out_of_cpu(lab: Lab) -> None:
    """No scheduler checked it: the kubelet's admission refuses it (upstream's OutOfcpu)."""
    node = kubectl_json(lab, "get", "node", "node1")
    capacity = parse_quantity(node["status"]["allocatable"]["cpu"], milli=True)
    apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: greedy}}
spec:
  nodeName: node1
  containers:
  - name: c
    image: {lab.images.ref("busybox")}
    command: [sleep, "3600"]
    resources: {{requests: {{cpu: "64"}}}}
""")
    status = eventually(lambda: phase(lab, "greedy") == "Failed" and
                        kubectl_json(lab, "get", "pod", "greedy")["status"])
    used = sum(parse_quantity(c["resources"].get("requests", {}).get("cpu", "0"), milli=True)
               for p in kubectl_json(lab, "get", "pods", "-A",
                                     "--field-selector=spec.nodeName=node1")["items"]
               if p["metadata"]["name"] != "greedy"
               and p["status"].get("phase") not in ("Succeeded", "Failed")
               for c in p["spec"]["containers"])
    assert status["reason"] == "OutOfcpu"
    assert status["message"] == ("Pod was rejected: Node didn't have enough resource: cpu, "
                                 f"requested: 64000, used: {used}, capacity: {capacity}")
    assert not status.get("containerStatuses")
    events = kubectl_json(lab, "get", "events", "--field-selector",
                          "involvedObject.name=greedy")["items"]
    assert any(e["reason"] == "OutOfcpu" and e["type"] == "Warning" for e in events)
    kubectl(lab, "delete", "pod", "greedy", "--wait=false")


def test_host_namespaces(lab: Lab) -> None:
    node_net = in_node(lab, "readlink", "/proc/self/ns/net").stdout.strip()
    apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: hostns}}
spec:
  restartPolicy: Never
  hostNetwork: true
  hostPID: true
  hostIPC: true
  containers:
  - name: c
    image: {lab.images.ref("busybox")}
    command: [sh, -c, "for ns in net pid ipc uts; do readlink /proc/self/ns/$ns; done"]
""")
    net, pid, ipc, uts = finished(lab, "hostns").split()
    assert net == node_net
    assert pid == os.readlink("/proc/self/ns/pid") and ipc == os.readlink("/proc/self/ns/ipc")
    apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: ipconly}}
spec:
  restartPolicy: Never
  hostIPC: true
  containers:
  - name: c
    image: {lab.images.ref("busybox")}
    command: [sh, -c, "readlink /proc/self/ns/ipc; readlink /proc/self/ns/pid; hostname"]
""")
    ipc, pid, hostname = finished(lab, "ipconly").split()
    assert ipc == os.readlink("/proc/self/ns/ipc") and pid != os.readlink("/proc/self/ns/pid")
    assert hostname == "ipconly"  # the node's IPC namespace, but its own hostname


def test_a_localhost_seccomp_profile_from_the_kubelets_directory(lab: Lab) -> None:
    profiles = lab.paths.node("node1") / "kubelet" / "seccomp" / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    (profiles / "no-mkdir.json").write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 1}]}))
    apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: seccomp-local}}
spec:
  restartPolicy: Never
  securityContext:
    seccompProfile: {{type: Localhost, localhostProfile: profiles/no-mkdir.json}}
  containers:
  - name: c
    image: {lab.images.ref("busybox")}
    command: [sh, -c, "grep Seccomp: /proc/self/status; mkdir /tmp/x 2>&1 || true"]
""")
    out = finished(lab, "seccomp-local")
    assert "Seccomp:\t2" in out and "Operation not permitted" in out


# --- interactive -----------------------------------------------------------------------------


def test_kubectl_run_rm_i_ends_with_stdin_and_returns_the_exit_code(lab: Lab) -> None:
    """`kubectl run --rm -i`: stdin reaches the container, its end closes the container's
    stdin (stdinOnce), the attach ends when the container exits, kubectl returns the
    container's exit code and deletes the pod."""
    result = subprocess.run(
        [KUBECTL, "--kubeconfig", str(lab.kubeconfig), "run", "catter", "--rm", "-i",
         f"--image={lab.images.ref('busybox')}", "--restart=Never", "--",
         "sh", "-c", "cat; echo bye >&2; exit 3"],
        input="hello\n", capture_output=True, text=True, timeout=90)
    assert result.returncode == 3, result.stderr
    assert result.stdout.count("hello") == 1 and "bye" in result.stdout + result.stderr
    assert "falling back to streaming logs" not in result.stderr
    assert "pod default/catter terminated (Error)" in result.stderr
    assert 'pod "catter" deleted' in result.stdout + result.stderr
    gone = kubectl(lab, "get", "pod", "catter", "--ignore-not-found")
    assert gone == ""


# --- logs ------------------------------------------------------------------------------------


def test_logs_keep_a_last_line_without_newline(lab: Lab) -> None:
    apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: partial}}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: {lab.images.ref("busybox")}
    command: [sh, -c, "printf 'first\\\\nno-newline'"]
""")
    assert finished(lab, "partial") == "first\nno-newline"


# --- termination messages --------------------------------------------------------------------


def terminated(lab: Lab, pod: str) -> dict[str, Any]:
    statuses = kubectl_json(lab, "get", "pod", pod)["status"].get("containerStatuses") or [{}]
    return dict((statuses[0].get("state") or {}).get("terminated") or {})


def test_termination_messages_from_the_file_and_from_the_logs(lab: Lab) -> None:
    image = lab.images.ref("busybox")
    apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: msg-file}}
spec:
  restartPolicy: Never
  securityContext: {{runAsUser: 1234}}
  containers:
  - {{name: c, image: {image}, command: [sh, -c, "echo bye > /dev/termination-log; exit 3"]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: msg-custom}}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: {image}
    command: [sh, -c, "echo custom > /tmp/why"]
    terminationMessagePath: /tmp/why
---
apiVersion: v1
kind: Pod
metadata: {{name: msg-logs}}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: {image}
    command: [sh, -c, "echo from-the-log; exit 1"]
    terminationMessagePolicy: FallbackToLogsOnError
""")
    for pod in ("msg-file", "msg-custom", "msg-logs"):
        def finished(pod: str = pod) -> bool:
            return phase(lab, pod) in ("Succeeded", "Failed")

        eventually(finished, timeout=90)
    assert terminated(lab, "msg-file")["message"] == "bye\n"  # a non-root user may write it
    assert terminated(lab, "msg-file")["exitCode"] == 3
    assert terminated(lab, "msg-custom")["message"] == "custom\n"
    assert terminated(lab, "msg-logs")["message"] == "from-the-log\n"
