"""End to end: registration, conditions, lease, events and restart, on a real API server and
nodelab's real CRI runtime (see conftest.py). Slow-ish: a few kubelet status periods each."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from nodelab.kubelet.machine import parse_meminfo
from nodelab.kubelet.quantities import parse_quantity
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
    run.start()
    wait_for(lambda: "kubelet " + name + " running" in run.current.output(), 30,
             f"the restarted kubelet:\n{run.current.output()}")
    before = _node(controlplane, name)["status"]["conditions"]
    wait_for(lambda: _node(controlplane, name)["status"]["conditions"] != before, 10,
             "a status post from the restarted kubelet")
    node = _node(controlplane, name)
    assert node["metadata"]["uid"] == uid
    ready = _condition(node, "Ready")
    assert ready["status"] == "True"
    assert ready["lastTransitionTime"] == since
    api.close()
