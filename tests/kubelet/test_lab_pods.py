"""The kubelet in a real lab whose CrashLoopBackOff is capped (`Lab.up(max_restart_backoff=2)`):
restarts spaced by the cap, a grpc readiness probe against a real grpc.health.v1 server in the
pod's network namespace, and a projected service-account token the API server accepts.

One small lab serves the module (the shared `cluster` of tests/lab cannot take the knob: its
tests re-run `Lab.up` without it). Pure parts (the CLI's duration flag, lab.json, the kubelet
config a lab writes) are tested without root.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nodelab.cli.up import restart_backoff
from nodelab.errors import NodelabError
from nodelab.kubelet.config import KubeletConfig
from nodelab.lab.description import LabDescription
from nodelab.lab.lab import Lab
from nodelab.lab.up.node_daemons import kubelet_config_text
from tests.conftest import needs_root, one_node_lab
from tests.lab.kube import KUBECTL, eventually, kubectl, kubectl_json

CAP = 2.0  # seconds: the lab's crashLoopBackOff.maxContainerRestartPeriod
HEALTH_SERVER = Path(__file__).with_name("grpc_health_server.py")

# --- the knob, without root ------------------------------------------------------------------


def test_the_flag_takes_go_durations_and_rejects_the_rest() -> None:
    assert restart_backoff("10s") == 10.0
    assert restart_backoff("1m") == 60.0
    assert restart_backoff("1m30s") == 90.0
    with pytest.raises(argparse.ArgumentTypeError, match="invalid duration '10x'"):
        restart_backoff("10x")
    with pytest.raises(argparse.ArgumentTypeError, match="must be 1s to 300s"):
        restart_backoff("500ms")
    with pytest.raises(argparse.ArgumentTypeError, match="must be 1s to 300s"):
        restart_backoff("6m")


def test_lab_json_keeps_the_cap_and_old_files_still_load(tmp_path: Path) -> None:
    import ipaddress

    path = tmp_path / "lab.json"
    subnet = ipaddress.IPv4Network("172.29.9.0/24")
    LabDescription("k", subnet, 1, "iptables", 10.0).save(path)
    assert LabDescription.load(path) == LabDescription("k", subnet, 1, "iptables", 10.0)
    path.write_text(json.dumps({"name": "k", "subnet": str(subnet), "nodes": 1,
                                "proxy_mode": "nftables"}))  # written before the knob
    old = LabDescription.load(path)
    assert old is not None and old.max_restart_backoff is None


def test_the_kubelet_reads_the_cap_the_lab_writes(tmp_path: Path) -> None:
    config = tmp_path / "kubelet-config.yaml"
    config.write_text(kubelet_config_text("/nodelab/k/node1", 10.0))
    assert KubeletConfig.load(config).crash_loop_back_off_max == 10.0
    config.write_text(kubelet_config_text("/nodelab/k/node1", None))
    assert KubeletConfig.load(config).crash_loop_back_off_max == 300.0


# --- a real lab ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def capped() -> Iterator[Lab]:
    with one_node_lab(max_restart_backoff=CAP) as lab:
        yield lab


def _container(lab: Lab, pod: str) -> dict[str, Any]:
    status = kubectl_json(lab, "get", "pod", pod)["status"]
    return dict((status.get("containerStatuses") or [{}])[0])


@needs_root
@pytest.mark.privileged
@pytest.mark.slow
def test_restarts_are_spaced_by_the_labs_cap(capped: Lab) -> None:
    assert "CrashLoopBackOff capped at 2s" in capped.status().render()
    again = Lab.up(capped.name, progress=lambda _m: None)  # no cap given: the lab's own
    assert again.description.max_restart_backoff == CAP
    with pytest.raises(NodelabError, match="restart backoff cap of 2s, not 300s"):
        Lab.up(capped.name, 1, max_restart_backoff=300, progress=lambda _m: None)
    config = capped.paths.node("node1") / "kubelet-config.yaml"
    assert KubeletConfig.load(config).crash_loop_back_off_max == CAP

    image = capped.images.ref("busybox")
    kubectl(capped, "run", "crashy", f"--image={image}", "--", "sh", "-c", "exit 1")
    # the kubelet's own word for each back-off it waits (upstream's "back-off 10s restarting
    # failed container=...", doubling to 20s, 40s, ...), not the time between restarts as
    # seen from here: that is the machine's load as much as the kubelet's
    messages: set[str] = set()
    count = 0
    deadline = time.monotonic() + 120  # uncapped, restarts 2..5 alone take 10+20+40+80 s
    while time.monotonic() < deadline and count < 5:
        status = _container(capped, "crashy")
        count = int(status.get("restartCount", 0))
        messages.add(((status.get("state") or {}).get("waiting") or {}).get("message", ""))
        time.sleep(0.2)
    kubectl(capped, "delete", "pod", "crashy", "--grace-period=1", "--wait=false")
    assert count >= 5, f"{count} restarts; back-offs said: {messages}"
    backoffs = {m.split()[1] for m in messages if m.startswith("back-off ")}
    assert backoffs == {"2s"}, messages
    assert any(m.startswith("back-off 2s restarting failed container=") for m in messages)


def _apply(lab: Lab, manifest: str) -> None:
    kubectl(lab, "apply", "-f", "-", input=manifest)


def _ready(lab: Lab, pod: str) -> bool:
    conditions = kubectl_json(lab, "get", "pod", pod)["status"].get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _running(lab: Lab, pod: str) -> dict[str, Any] | None:
    obj: dict[str, Any] = kubectl_json(lab, "get", "pod", pod)
    return obj if obj["status"].get("phase") == "Running" and obj["status"].get("podIP") else None


def container_pid(pod_uid: str, command: str) -> int | None:
    """The host PID of the pod's process named `command`, found by its pod cgroup."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() == command and \
                    f"pod{pod_uid}" in (proc / "cgroup").read_text():
                return int(proc.name)
        except OSError:
            continue
    return None


def _endpoints(lab: Lab, service: str, ready: bool) -> list[str]:
    slices = kubectl_json(lab, "get", "endpointslices", "-l",
                          f"kubernetes.io/service-name={service}")["items"]
    return [e["addresses"][0] for s in slices for e in s.get("endpoints") or []
            if e["conditions"].get("ready") is ready]


@needs_root
@pytest.mark.privileged
@pytest.mark.slow
def test_a_grpc_readiness_probe_asks_a_real_health_server(capped: Lab, tmp_path: Path) -> None:
    _apply(capped, f"""
apiVersion: v1
kind: Pod
metadata: {{name: grpcd, labels: {{app: grpcd}}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: {capped.images.ref("busybox")}
    command: [sleep, "3600"]
    readinessProbe:
      grpc: {{port: 50051, service: nodelab.Demo}}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {{name: grpcd}}
spec:
  selector: {{app: grpcd}}
  ports: [{{port: 50051}}]
""")
    pod = eventually(lambda: _running(capped, "grpcd"))
    ip, uid = pod["status"]["podIP"], pod["metadata"]["uid"]
    pid = eventually(lambda: container_pid(uid, "sleep"), timeout=20)
    assert not _ready(capped, "grpcd")  # nothing listens yet: the probe is refused
    health = tmp_path / "health.json"
    health.write_text(json.dumps({"nodelab.Demo": "SERVING"}))
    server = subprocess.Popen(
        ["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, str(HEALTH_SERVER),
         f"{ip}:50051", str(health)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "listening", \
            server.stderr.read() if server.stderr else ""
        eventually(lambda: _ready(capped, "grpcd"), timeout=30)
        eventually(lambda: _endpoints(capped, "grpcd", True) == [ip], timeout=20)
        health.write_text(json.dumps({"nodelab.Demo": "NOT_SERVING"}))
        eventually(lambda: not _ready(capped, "grpcd"), timeout=20)
        eventually(lambda: _endpoints(capped, "grpcd", False) == [ip], timeout=20)
        events = kubectl(capped, "get", "events", "--field-selector",
                         "involvedObject.name=grpcd")
        assert 'service unhealthy (responded with "NOT_SERVING")' in events
        assert _container(capped, "grpcd").get("restartCount", 0) == 0  # readiness never kills
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        kubectl(capped, "delete", "pod/grpcd", "service/grpcd", "--grace-period=1",
                "--wait=false")


def _claims(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return claims


@needs_root
@pytest.mark.privileged
@pytest.mark.slow
def test_a_projected_token_is_bound_to_its_pod_and_accepted(capped: Lab, tmp_path: Path) -> None:
    _apply(capped, f"""
apiVersion: v1
kind: Pod
metadata: {{name: tokened}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: {capped.images.ref("busybox")}
    command: [sleep, "3600"]
    volumeMounts: [{{name: access, mountPath: /var/run/secrets/lab, readOnly: true}}]
  volumes:
  - name: access
    projected:
      defaultMode: 288  # 0440
      sources:
      - serviceAccountToken: {{audience: nodelab-demo, expirationSeconds: 1200, path: demo-token}}
      - serviceAccountToken: {{expirationSeconds: 3600, path: token}}
      - configMap: {{name: kube-root-ca.crt, items: [{{key: ca.crt, path: ca.crt}}]}}
      - downwardAPI:
          items: [{{path: namespace, fieldRef: {{fieldPath: metadata.namespace}}}}]
""")
    pod = eventually(lambda: _running(capped, "tokened"))
    uid = pod["metadata"]["uid"]

    def read(name: str) -> str:
        return kubectl(capped, "exec", "tokened", "--", "cat", f"/var/run/secrets/lab/{name}")

    modes = kubectl(capped, "exec", "tokened", "--", "stat", "-L", "-c", "%a %n",
                    "/var/run/secrets/lab/demo-token", "/var/run/secrets/lab/token")
    assert [line.split()[0] for line in modes.splitlines()] == ["440", "440"]
    demo, api = _claims(read("demo-token")), _claims(read("token"))
    assert demo["aud"] == ["nodelab-demo"]
    assert demo["exp"] - demo["iat"] == 1200 and abs(demo["iat"] - time.time()) < 120
    assert demo["sub"] == api["sub"] == "system:serviceaccount:default:default"
    assert demo["kubernetes.io"]["pod"] == {"name": "tokened", "uid": uid}
    assert api["kubernetes.io"]["pod"] == {"name": "tokened", "uid": uid}
    assert api["exp"] - api["iat"] == 3600
    ca = read("ca.crt")
    root_ca = kubectl_json(capped, "get", "configmap", "kube-root-ca.crt")["data"]["ca.crt"]
    assert ca.startswith("-----BEGIN CERTIFICATE-----") and ca == root_ca
    assert read("namespace") == "default"

    (tmp_path / "ca.crt").write_text(ca)

    def whoami(token: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [KUBECTL, "--kubeconfig", os.devnull, "--server", capped.topology.apiserver_url,
             "--certificate-authority", str(tmp_path / "ca.crt"), "--token", token,
             "auth", "whoami", "-o", "json"], capture_output=True, text=True, timeout=60)

    api_user = whoami(read("token").strip())
    assert api_user.returncode == 0, api_user.stderr
    user = json.loads(api_user.stdout)["status"]["userInfo"]
    assert user["username"] == "system:serviceaccount:default:default"
    assert "system:serviceaccounts:default" in user["groups"]
    other = whoami(read("demo-token").strip())  # minted for another audience: no login
    assert other.returncode != 0 and "Unauthorized" in other.stderr
    kubectl(capped, "delete", "pod", "tokened", "--grace-period=1", "--wait=false")
