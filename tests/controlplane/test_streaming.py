"""pods/log, pods/exec and pods/portforward proxied to a stand-in kubelet endpoint."""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s

from tests.controlplane.apiserver import RunningApiServer
from tests.controlplane.standin_kubelet import StandInKubelet


@pytest.fixture(scope="module")
def kubelet(apiserver: RunningApiServer) -> Iterator[StandInKubelet]:
    assert apiserver.pki is not None
    standin = StandInKubelet(apiserver.pki.server_cert, apiserver.pki.server_key)
    standin.start()
    core = k8s.CoreV1Api(apiserver.client())
    core.create_node({"metadata": {"name": "nl-stream"}, "status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": standin.port}}}})
    core.create_namespaced_pod("default", {"metadata": {"name": "streamed"}, "spec": {
        "nodeName": "nl-stream", "containers": [{"name": "c", "image": "busybox"}]}})
    try:
        yield standin
    finally:
        standin.stop()


def test_kubectl_logs(apiserver: RunningApiServer, kubelet: StandInKubelet) -> None:
    out = apiserver.kubectl("logs", "streamed", "--tail=5").stdout
    assert out.startswith("line one\nline two\n")
    assert '"tailLines": ["5"]' in out
    assert any(p.startswith("/containerLogs/default/streamed/c?") for p in kubelet.paths)


def test_python_client_logs(apiserver: RunningApiServer, kubelet: StandInKubelet) -> None:
    core = k8s.CoreV1Api(apiserver.client())
    assert "line two" in core.read_namespaced_pod_log("streamed", "default", container="c")


def test_kubectl_exec_over_websocket(apiserver: RunningApiServer,
                                     kubelet: StandInKubelet) -> None:
    out = apiserver.kubectl("exec", "streamed", "--", "echo", "hi").stdout
    assert out == "exec echo hi\n"
    assert any(p.startswith("/exec/default/streamed/c?command=echo&command=hi")
               for p in kubelet.paths)


def test_kubectl_exec_with_stdin(apiserver: RunningApiServer, kubelet: StandInKubelet) -> None:
    out = apiserver.kubectl("exec", "-i", "streamed", "--", "cat", input="ping\n").stdout
    assert out == "exec cat\nping\n"


def test_portforward_upgrade_is_tunnelled(apiserver: RunningApiServer,
                                          kubelet: StandInKubelet) -> None:
    assert apiserver.pki is not None
    context = ssl.create_default_context(cafile=str(apiserver.pki.ca_cert))
    context.load_cert_chain(str(apiserver.pki.admin.cert), str(apiserver.pki.admin.key))
    with socket.create_connection(("127.0.0.1", apiserver.port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((
            "GET /api/v1/namespaces/default/pods/streamed/portforward?ports=8080 HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n").encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 101")
    assert "/portForward/default/streamed?ports=8080" in kubelet.paths


def test_unbound_pod_has_no_host(apiserver: RunningApiServer, kubelet: StandInKubelet) -> None:
    apiserver.kubectl("run", "floating", "--image=busybox")
    result = apiserver.kubectl("logs", "floating", check=False)
    assert result.returncode != 0 and "does not have a host assigned" in result.stderr


def test_python_client_exec_stream(apiserver: RunningApiServer, kubelet: StandInKubelet) -> None:
    from kubernetes.stream import stream

    core = k8s.CoreV1Api(apiserver.client())
    out = stream(core.connect_get_namespaced_pod_exec, "streamed", "default",
                 command=["date"], stderr=True, stdin=False, stdout=True, tty=False)
    assert out == "exec date\n"


def test_node_proxy(apiserver: RunningApiServer, kubelet: StandInKubelet) -> None:
    out = apiserver.kubectl("get", "--raw", "/api/v1/nodes/nl-stream/proxy/stats/summary").stdout
    assert json.loads(out) == {"path": "/stats/summary"}
    out = apiserver.kubectl("get", "--raw", "/api/v1/nodes/nl-stream/proxy/pods?x=1").stdout
    assert json.loads(out) == {"path": "/pods?x=1"}


def test_kubelet_client_trusts_only_the_cluster_ca(tmp_path: Path) -> None:
    from nodelab.controlplane.auth.pki import ensure_pki
    from nodelab.controlplane.http.kubelet_connection import KubeletClient

    pki = ensure_pki(tmp_path, ["127.0.0.1"])
    context = KubeletClient(ca=pki.ca_cert).context()
    assert context.cert_store_stats()["x509_ca"] == 1
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
