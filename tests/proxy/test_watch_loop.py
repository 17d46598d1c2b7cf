"""Privileged: the list+watch sync loop against the real embedded API server.

A real `python -m nodelab.controlplane` process on loopback (tests/controlplane/apiserver.py)
holds a Service and an EndpointSlice written with the official client; `run_proxy` watches
them through nodelab's small REST client (as the proxy process does) and keeps the rules of a
throwaway node namespace in line. Changing the slice (a pod becomes unready, then all go away)
must reach the rules by a partial sync, and real requests must see it. An object the proxy
will not render is reported as a Warning Event through the same client.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from nodelab.kube.restclient import RestClient
from nodelab.proxy import Proxier, ProxyNode, read_metrics
from nodelab.proxy.watch import run_proxy
from tests.proxy.netlab import WEB_IPS, NodeLab, node_lab

pytestmark = [
    pytest.mark.privileged,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and rules"),
    pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox (busybox-static)"),
]


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from tests.controlplane.apiserver import RunningApiServer

    with tempfile.TemporaryDirectory(prefix="nlpx-cp-") as state:
        server = RunningApiServer(Path(state))
        try:
            server.start()
        except RuntimeError as exc:  # the API server is another component's; say so clearly
            pytest.skip(f"embedded API server did not start: {exc}")
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def api(server: Any) -> k8s.ApiClient:
    client: k8s.ApiClient = server.client()
    return client


@pytest.fixture(scope="module")
def lab() -> Iterator[NodeLab]:
    with node_lab() as made:
        yield made


def web_slice(ready: tuple[str, ...]) -> k8s.V1EndpointSlice:
    return k8s.V1EndpointSlice(
        metadata=k8s.V1ObjectMeta(name="web-manual", labels={"kubernetes.io/service-name": "web"}),
        address_type="IPv4",
        ports=[k8s.DiscoveryV1EndpointPort(name="http", port=8080, protocol="TCP")],
        endpoints=[
            k8s.V1Endpoint(
                addresses=[ip],
                conditions=k8s.V1EndpointConditions(ready=ip in ready),
                node_name="node1",
            )
            for ip in WEB_IPS
        ],
    )


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("mode", ["iptables", "nftables"])
def test_watch_loop_follows_services_and_endpoint_slices(
    server: Any, api: k8s.ApiClient, lab: NodeLab, mode: str
) -> None:
    core, discovery = k8s.CoreV1Api(api), k8s.DiscoveryV1Api(api)
    svc = core.create_namespaced_service(
        "default",
        k8s.V1Service(
            metadata=k8s.V1ObjectMeta(name="web"),
            spec=k8s.V1ServiceSpec(
                ports=[k8s.V1ServicePort(name="http", port=80, target_port=8080)]
            ),
        ),
    )
    cluster_ip = svc.spec.cluster_ip
    assert cluster_ip.startswith("10.96.")
    discovery.create_namespaced_endpoint_slice("default", web_slice(WEB_IPS))
    proxier = Proxier(ProxyNode("node1"), mode, lab.node, clear_udp_conntrack=False)
    stop = threading.Event()
    loop = threading.Thread(
        target=run_proxy,
        args=(proxier, RestClient.from_kubeconfig(server.kubeconfig), stop),
        kwargs={"min_sync_period": 0.1, "sync_period": 30.0, "watch_timeout": 5},
        daemon=True,
    )
    loop.start()
    try:

        def answers() -> dict[str, int] | None:
            seen = lab.requests(lab.node, cluster_ip, 80, 60)
            return seen.seen if not seen.errors and len(seen.seen) == 3 else None

        wait_for("requests to reach all three pods", answers)
        assert proxier.metrics.last_full is not None

        discovery.replace_namespaced_endpoint_slice("web-manual", "default", web_slice(WEB_IPS[:2]))

        def without_pod3() -> bool:
            last = proxier.metrics.last
            return bool(last and not last.full and "pod-3" not in answers_now())

        def answers_now() -> dict[str, int]:
            return lab.requests(lab.node, cluster_ip, 80, 60).seen

        wait_for("a partial sync that drops the unready pod", without_pod3)

        discovery.delete_namespaced_endpoint_slice("web-manual", "default")

        def refused() -> bool:
            seen = lab.requests(lab.node, cluster_ip, 80, 1)
            return seen.errors == {"ConnectionRefusedError": 1}

        wait_for("the Service without endpoints to be refused", refused)
        assert loop.is_alive() and proxier.metrics.failures == 0
    finally:
        stop.set()
        loop.join(timeout=10)
        proxier.remove_rules()
        core.delete_namespaced_service("web", "default")


def test_proxy_process_syncs_and_writes_metrics(
    server: Any, api: k8s.ApiClient, lab: NodeLab, tmp_path: Path
) -> None:
    core = k8s.CoreV1Api(api)
    svc = core.create_namespaced_service(
        "default",
        k8s.V1Service(
            metadata=k8s.V1ObjectMeta(name="web"),
            spec=k8s.V1ServiceSpec(
                ports=[k8s.V1ServicePort(name="http", port=80, target_port=8080)]
            ),
        ),
    )
    k8s.DiscoveryV1Api(api).create_namespaced_endpoint_slice("default", web_slice(WEB_IPS))
    metrics = tmp_path / "metrics.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nodelab.proxy",
            "--kubeconfig",
            str(server.kubeconfig),
            "--node-name",
            "node1",
            "--mode",
            "nftables",
            "--netns",
            lab.node,
            "--metrics-file",
            str(metrics),
            "--min-sync-period",
            "0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for("the proxy process to write its metrics", metrics.exists)
        data = read_metrics(metrics)
        assert data["mode"] == "nftables" and data["last_full"]["ok"]
        seen = lab.requests(lab.node, svc.spec.cluster_ip, 80, 30)
        assert seen.errors == {} and len(seen.seen) >= 2
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
        core.delete_namespaced_service("web", "default")
        k8s.DiscoveryV1Api(api).delete_namespaced_endpoint_slice("web-manual", "default")
    assert proc.returncode == 0, err.decode()[-2000:]
    cleanup = subprocess.run(
        [
            sys.executable,
            "-m",
            "nodelab.proxy",
            "--node-name",
            "node1",
            "--netns",
            lab.node,
            "--cleanup",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cleanup.returncode == 0, cleanup.stderr
    tables = subprocess.run(
        ["ip", "netns", "exec", lab.node, "nft", "list", "tables"], capture_output=True, text=True
    ).stdout
    assert "kube-proxy" not in tables


def test_an_invalid_object_is_reported_as_a_warning_event(server: Any, api: k8s.ApiClient) -> None:
    from nodelab.proxy.object_checks import InvalidObject
    from nodelab.proxy.watch import event_recorder

    record = event_recorder(RestClient.from_kubeconfig(server.kubeconfig), "node1")
    obj = {"metadata": {"namespace": "default", "name": "odd", "resourceVersion": "7"}}
    problem = InvalidObject("Service", "default", "odd", ["spec.clusterIP 'x' is not an IP"])
    record(obj, problem)
    record(obj, problem)  # the same version is reported once
    events = k8s.CoreV1Api(api).list_namespaced_event(
        "default", field_selector="involvedObject.name=odd"
    ).items
    assert len(events) == 1
    assert events[0].type == "Warning" and events[0].reason == "InvalidService"
    assert "is not an IP" in events[0].message

