"""The Kubernetes views on objects read from the embedded API server through `ApiObjects`.

One `python -m nodelab.controlplane` process on a free loopback port (stopped by PID): the test
writes a Node and its Lease as a kubelet would, a Pod, an Event and a Service, then the views
read them back through the official client, and follow changes (a lease renewal, a phase
change) as they are written.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from nodelab.controlplane import ensure_pki, write_kubeconfig
from nodelab.widgets import ApiObjects, ClusterView, NodeView, PodLifecycleView
from tests.widgets import objects as o

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def kubeconfig() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="nlw-api-") as state_dir:
        state = Path(state_dir)
        port = free_port()
        with open(state / "controlplane.log", "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "nodelab.controlplane", "--state-dir", str(state),
                 "--listen", f"127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
        try:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, (state / "controlplane.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "the API server did not become ready"
                try:
                    with urllib.request.urlopen(f"https://127.0.0.1:{port}/readyz",
                                                context=context, timeout=1) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    time.sleep(0.1)
            pki = ensure_pki(state, ["127.0.0.1"])
            path = state / "admin.kubeconfig"
            write_kubeconfig(path, f"https://127.0.0.1:{port}", pki.ca_cert, pki.admin.cert,
                             pki.admin.key, "admin")
            yield path
        finally:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(10)


def strip(obj: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in obj.items() if k != "kind"}


def test_views_read_and_follow_objects_from_the_api_server(kubeconfig: Path) -> None:
    api = k8s_config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    core, coordination = k8s.CoreV1Api(api), k8s.CoordinationV1Api(api)
    node = o.node("node1")
    core.create_node(strip(node))
    core.patch_node_status("node1", {"status": node["status"]})
    namespaces = {n.metadata.name for n in core.list_namespace().items}
    if "kube-node-lease" not in namespaces:
        core.create_namespace({"metadata": {"name": "kube-node-lease"}})
    coordination.create_namespaced_lease("kube-node-lease", strip(o.lease(renewed=280)))
    pod = o.pod("web", phase="Pending")
    core.create_namespaced_pod("default", {k: v for k, v in strip(pod).items() if k != "status"})
    core.create_namespaced_event("default", strip(o.event("Scheduled", 11, "assigned")))
    core.create_namespaced_service("default", {"metadata": {"name": "web"}, "spec": {
        "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})

    objects = ApiObjects(kubeconfig)
    node_view = NodeView(objects, "node1")
    node_view.refresh()
    html = node_view.static_html()
    assert "24586044Ki" in html and "KubeletReady" in html and "holder node1" in html

    lease = coordination.read_namespaced_lease("node1", "kube-node-lease")
    lease.spec.renew_time = o.T0 + timedelta(seconds=290)
    coordination.replace_namespaced_lease("node1", "kube-node-lease", lease)
    node_view.refresh()
    assert len(node_view.renewals) == 2
    assert "intervals 10.0s" in node_view.static_html()

    core.patch_namespaced_pod_status("web", "default", {"status": pod["status"]})
    pod_view = PodLifecycleView(objects, "web")
    pod_view.refresh()
    core.patch_namespaced_pod_status("web", "default", {"status": pod["status"] | {
        "phase": "Running"}})
    pod_view.refresh()
    assert [phase for _at, phase in pod_view.phases] == ["Pending", "Running"]
    assert "Scheduled" in pod_view.static_html()

    cluster = ClusterView(objects)
    cluster.refresh()
    html = cluster.static_html()
    assert "default/web" in html and "on node1" in html
    service = core.read_namespaced_service("web", "default")
    assert service.spec.cluster_ip and service.spec.cluster_ip in html
    objects.close()
