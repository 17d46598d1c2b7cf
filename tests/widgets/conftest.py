"""Fixtures for view tests: one real lab the read-only view tests share, and a pod-like
namespace wired into a lab node, made by hand.

`pod_in_node` makes what a CNI ADD would make (the CNI plugins are another component): a
bridge inside the node's namespace, a veth pair whose far end is `eth0` in a new namespace
`nl<lab>-pod<i>`, an address and a default route there. The namespace and links carry the
lab's prefix, so the lab's `down` would sweep them too; the fixture deletes them itself first.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from nodelab.host.commands import run
from nodelab.lab.lab import Lab, take_down_lab
from tests.conftest import unique_lab_name

IS_ROOT = os.geteuid() == 0

needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root: real namespaces, links, cgroups")
privileged = [pytest.mark.privileged, needs_root]


@dataclass(frozen=True)
class Pod:
    netns: str
    node_netns: str
    bridge: str
    host_veth: str
    address: str


PodMaker = Callable[[str, str, int], Pod]


def wire_pod(prefix: str, node_netns: str, index: int) -> Pod:
    """Do by hand what the bridge CNI plugin does for one pod (see docs/cni.md)."""
    pod = Pod(
        netns=f"{prefix}-pod{index}",
        node_netns=node_netns,
        bridge=f"{prefix}-cni0",
        host_veth=f"{prefix}-vp{index}",
        address=f"10.244.0.{1 + index}/24",
    )
    node = ["ip", "-n", node_netns]
    run(["ip", "netns", "add", pod.netns])
    if run([*node, "link", "show", pod.bridge], check=False).returncode != 0:
        run([*node, "link", "add", pod.bridge, "type", "bridge"])
        run([*node, "addr", "add", "10.244.0.1/24", "dev", pod.bridge])
        run([*node, "link", "set", pod.bridge, "up"])
    run([*node, "link", "add", pod.host_veth, "type", "veth", "peer", "name", "eth0",
         "netns", pod.netns])
    run([*node, "link", "set", pod.host_veth, "master", pod.bridge, "up"])
    inside = ["ip", "-n", pod.netns]
    run([*inside, "link", "set", "lo", "up"])
    run([*inside, "addr", "add", pod.address, "dev", "eth0"])
    run([*inside, "link", "set", "eth0", "up"])
    run([*inside, "route", "add", "default", "via", "10.244.0.1"])
    return pod


@pytest.fixture
def pod_in_node() -> Iterator[PodMaker]:
    made: list[Pod] = []

    def make(prefix: str, node_netns: str, index: int = 1) -> Pod:
        pod = Pod(f"{prefix}-pod{index}", node_netns, f"{prefix}-cni0",
                  f"{prefix}-vp{index}", "")
        made.append(pod)
        return wire_pod(prefix, node_netns, index)

    try:
        yield make
    finally:
        for pod in made:
            run(["ip", "netns", "del", pod.netns], check=False)
            run(["ip", "-n", pod.node_netns, "link", "del", pod.host_veth], check=False)
            run(["ip", "-n", pod.node_netns, "link", "del", pod.bridge], check=False)


def wait_for(predicate: Callable[[], object], timeout: float = 15.0) -> bool:
    """Whether `predicate` came true within `timeout` seconds (the views poll their sources)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="package")
def cluster() -> Iterator[Lab]:
    """One one-node lab for every test that only reads it (each lab up and down is ~20 s): a
    pod `web` with a readiness probe, Ready, behind a Service `web`. A test that adds to it
    removes what it added."""
    if not IS_ROOT:
        pytest.skip("needs root: a real lab")
    name = unique_lab_name()
    try:
        lab = Lab.up(name, 1, progress=lambda _m: None)
        api = k8s_config.new_client_from_config(config_file=str(lab.kubeconfig))  # type: ignore[no-untyped-call]
        core = k8s.CoreV1Api(api)
        pod: Any = {  # the client takes dicts as well as its models
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"containers": [{
                "name": "app", "image": lab.images.ref("web"),
                "ports": [{"containerPort": 8080}],
                "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 2},
                "resources": {"limits": {"memory": "64Mi", "cpu": "500m"}},
            }]}}
        service: Any = {
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}
        core.create_namespaced_pod("default", pod)
        core.create_namespaced_service("default", service)

        def ready() -> bool:
            pod = core.read_namespaced_pod("web", "default")
            return any(c.type == "Ready" and c.status == "True"
                       for c in pod.status.conditions or [])

        assert wait_for(ready, 90), "pod web did not become Ready"
        api.close()
        yield lab
    finally:
        take_down_lab(name)
