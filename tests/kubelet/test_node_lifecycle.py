"""End to end: registration, conditions, lease, events and restart, on a real API server and
nodelab's real CRI runtime (see conftest.py). Slow-ish: a few kubelet status periods each."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from nodelab.kube.quantities import parse_quantity
from nodelab.kubelet.machine import parse_meminfo
from nodelab.kubewire.times import parse_time
from tests.kubelet.processes import ControlPlane, KubeletFactory, Runtime, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.privileged]


def _node(cp: ControlPlane, name: str) -> dict[str, Any]:
    api = cp.admin_client()
    try:
        node: dict[str, Any] = api.sanitize_for_serialization(k8s.CoreV1Api(api).read_node(name))
        return node
    finally:
        api.close()


def _condition(node: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in node["status"].get("conditions", []) if c["type"] == kind)


def _event_reasons(cp: ControlPlane, name: str) -> list[str]:
    api = cp.admin_client()
    try:
        events = k8s.CoreV1Api(api).list_namespaced_event(
            "default", field_selector=f"involvedObject.name={name}")
        return [str(e.reason) for e in events.items]
    finally:
        api.close()


def _ready(cp: ControlPlane, name: str) -> dict[str, Any] | None:
    node = _node(cp, name)
    conds = {c["type"]: c for c in node["status"].get("conditions", [])}
    return node if conds.get("Ready", {}).get("status") == "True" else None


def test_register_conditions_lease_and_restart(
    controlplane: ControlPlane, runtime: Runtime, start_kubelet: KubeletFactory
) -> None:
    run = start_kubelet(runtime.endpoint)
    name = run.name
    node = wait_for(lambda: _node(controlplane, name).get("status", {}).get("conditions"), 30,
                    f"node {name} with conditions:\n{run.current.output()}")
    node = _node(controlplane, name)

    # true capacity, from this machine
    capacity = node["status"]["capacity"]
    assert parse_quantity(capacity["cpu"], milli=True) == len(os.sched_getaffinity(0)) * 1000
    meminfo = parse_meminfo(Path("/proc/meminfo").read_text())
    assert parse_quantity(capacity["memory"]) == meminfo["MemTotal"]
    assert capacity["pods"] == "110"
    assert parse_quantity(capacity["ephemeral-storage"]) > 0
    allocatable = node["status"]["allocatable"]
    assert parse_quantity(allocatable["memory"]) == meminfo["MemTotal"] - 100 * 2**20
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == name
    assert labels["kubernetes.io/os"] == "linux"
    assert labels["beta.kubernetes.io/arch"] == labels["kubernetes.io/arch"]
    info = node["status"]["nodeInfo"]
    assert info["containerRuntimeVersion"] == "nodelab://0.1.0"
    assert info["bootID"] == Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    assert node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == run.port
    assert {"type": "InternalIP", "address": "127.0.0.1"} in node["status"]["addresses"]

    # the runtime has no CNI config yet: NotReady with upstream's reason and message
    ready = _condition(node, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "KubeletNotReady")
    assert ready["message"].startswith(
        "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady")
    assert _condition(node, "MemoryPressure")["reason"] == "KubeletHasSufficientMemory"
    assert _condition(node, "DiskPressure")["reason"] == "KubeletHasNoDiskPressure"
    assert _condition(node, "PIDPressure")["reason"] == "KubeletHasSufficientPID"

    # a network config appears: Ready follows the runtime's Status
    runtime.enable_network()
    node = wait_for(lambda: _ready(controlplane, name), 20, f"node {name} Ready")
    ready = _condition(node, "Ready")
    assert (ready["reason"], ready["message"]) == ("KubeletReady",
                                                   "kubelet is posting ready status")
    reasons = wait_for(lambda: (r := _event_reasons(controlplane, name)) and "NodeReady" in r
                       and r, 10, "node events")
    for reason in ("Starting", "NodeHasSufficientMemory", "NodeHasNoDiskPressure",
                   "NodeHasSufficientPID", "NodeNotReady", "NodeReady"):
        assert reason in reasons

    # the Lease is renewed in kube-node-lease
    api = controlplane.admin_client()
    leases: Any = k8s.CoordinationV1Api(api)
    first = leases.read_namespaced_lease(name, "kube-node-lease")
    assert first.spec.holder_identity == name
    assert first.spec.lease_duration_seconds == 4
    wait_for(lambda: leases.read_namespaced_lease(name, "kube-node-lease").spec.renew_time
             > first.spec.renew_time, 10, "a lease renewal")

    # kill -9 and start again: same Node, still Ready, Ready never transitioned
    uid, since = node["metadata"]["uid"], ready["lastTransitionTime"]
    run.current.kill()
    killed = datetime.now(timezone.utc).replace(microsecond=0)
    # heartbeats have second resolution: start again in the next second, so that every
    # heartbeat of the restarted kubelet is later than any of the killed one's
    while datetime.now(timezone.utc).replace(microsecond=0) <= killed:
        time.sleep(0.02)
    run.start()
    wait_for(lambda: "kubelet " + name + " running" in run.current.output(), 30,
             f"the restarted kubelet:\n{run.current.output()}")

    def posted_since_kill() -> bool:
        beat = parse_time(_condition(_node(controlplane, name), "Ready")["lastHeartbeatTime"])
        return beat is not None and beat > killed

    # a heartbeat stamped after the kill (second resolution) is the restarted kubelet's; it
    # may have posted before the "running" line, so no "changed since now" comparison
    wait_for(posted_since_kill, 30, "a status post from the restarted kubelet")
    node = _node(controlplane, name)
    assert node["metadata"]["uid"] == uid
    ready = _condition(node, "Ready")
    assert ready["status"] == "True"
    assert ready["lastTransitionTime"] == since
    api.close()
    # the runtime goes away: NotReady, "container runtime is down"
    runtime.process.stop()

    def not_ready() -> dict[str, Any] | None:
        cond = _condition(_node(controlplane, name), "Ready")
        return cond if cond["status"] == "False" else None

    cond = wait_for(not_ready, 20, "NotReady after the runtime stopped")
    assert (cond["reason"], cond["message"]) == ("KubeletNotReady", "container runtime is down")


def test_serving_certificate_from_the_lab_ca(
    controlplane: ControlPlane, runtime: Runtime, start_kubelet: KubeletFactory, tmp_path: Path
) -> None:
    import datetime
    import ipaddress
    import socket
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_cert = x509.load_pem_x509_certificate(controlplane.ca.read_bytes())
    ca_key = serialization.load_pem_private_key(controlplane.ca_key.read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubelet")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .sign(ca_key, hashes.SHA256()))
    (tmp_path / "k.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    run = start_kubelet(runtime.endpoint, {"tlsCertFile": str(tmp_path / "k.crt"),
                                           "tlsPrivateKeyFile": str(tmp_path / "k.key")})
    context = ssl.create_default_context(cafile=str(controlplane.ca))  # verifies IP and chain

    def handshake() -> bool:
        with socket.create_connection(("127.0.0.1", run.port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.getpeercert() is not None

    assert wait_for(handshake, 30, f"the kubelet's TLS server:\n{run.current.output()}")


def test_a_pod_waits_for_the_network_instead_of_failing_its_sandbox(
    controlplane: ControlPlane, runtime: Runtime, start_kubelet: KubeletFactory
) -> None:
    """The runtime has no CNI config: the kubelet does not try RunPodSandbox but says
    NetworkNotReady (upstream's syncPod), again every second or so, as one counted Event; once
    the network is ready it goes on."""
    run = start_kubelet(runtime.endpoint)
    name = run.name
    wait_for(lambda: _node(controlplane, name).get("status", {}).get("conditions"), 60,
             f"node {name} with conditions")
    api = controlplane.admin_client()
    core = k8s.CoreV1Api(api)
    pod: Any = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"waits-{name}"},
                "spec": {"nodeName": name, "containers": [{"name": "c", "image": "busybox"}]}}
    core.create_namespaced_pod("default", pod)

    def events(reason: str) -> list[Any]:
        return [e for e in core.list_namespaced_event(
            "default", field_selector=f"involvedObject.name=waits-{name}").items
            if e.reason == reason]

    try:
        waiting = wait_for(lambda: events("NetworkNotReady"), 30, "a NetworkNotReady event")
        assert waiting[0].type == "Warning"
        assert waiting[0].message.startswith(
            "network is not ready: container runtime network not ready: NetworkReady=false "
            "reason:NetworkPluginNotReady")
        assert not events("FailedCreatePodSandBox")
        # a try every 1-1.5 s (backOffOnTransientErrorPeriod), each one recorded: the
        # kubelet's correlator makes them one Event whose count grows
        wait_for(lambda: (found := events("NetworkNotReady")) and found[0].count >= 3, 30,
                 "the NetworkNotReady event counted three times")
        assert len(events("NetworkNotReady")) == 1
        pending = core.read_namespaced_pod(f"waits-{name}", "default").status
        assert pending.phase == "Pending"
        assert pending.container_statuses[0].state.waiting.reason == "ContainerCreating"

        # the network is ready: after its back-off the worker goes on to RunPodSandbox (which
        # fails here: this harness runs no CNI daemon for the plugins)
        runtime.enable_network()
        wait_for(lambda: events("FailedCreatePodSandBox"), 40,
                 f"a RunPodSandbox for the pod:\n{run.current.output()}")
    finally:
        core.delete_namespaced_pod(f"waits-{name}", "default", grace_period_seconds=0)
        api.close()
