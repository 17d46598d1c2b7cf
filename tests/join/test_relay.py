"""The API relay with `tls-server-name` (a joined lab's node kubeconfigs): through a relay on
another address, the official Python client and kubectl verify the API server's certificate
for the named host, end to end, and refuse a name the certificate does not carry."""

from __future__ import annotations

import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from nodelab.lab.join.api_relay import serve
from tests.controlplane.apiserver import RunningApiServer, free_port

RELAY_HOST = "127.0.0.2"  # loopback, but not a name in the API server's certificate


@pytest.fixture(scope="module")
def relayed() -> Iterator[tuple[RunningApiServer, int]]:
    with tempfile.TemporaryDirectory(prefix="nlcp-") as state:
        server = RunningApiServer(Path(state))
        server.start()
        stop, port = threading.Event(), free_port()
        threading.Thread(target=serve, args=((RELAY_HOST, port), ("127.0.0.1", server.port),
                                             stop), daemon=True).start()
        for _ in range(50):
            try:
                socket.create_connection((RELAY_HOST, port), timeout=0.2).close()
                break
            except OSError:
                stop.wait(0.05)
        try:
            yield server, port
        finally:
            stop.set()
            server.stop()


def kubeconfig(server: RunningApiServer, port: int, name: str | None, path: Path) -> Path:
    document = yaml.safe_load(server.kubeconfig.read_text())
    cluster = document["clusters"][0]["cluster"]
    cluster["server"] = f"https://{RELAY_HOST}:{port}"
    if name:
        cluster["tls-server-name"] = name
    path.write_text(yaml.safe_dump(document))
    return path


def test_python_client(relayed: tuple[RunningApiServer, int], tmp_path: Path) -> None:
    server, port = relayed
    good = kubeconfig(server, port, "127.0.0.1", tmp_path / "good")
    api = k8s_config.new_client_from_config(str(good))  # type: ignore[no-untyped-call]
    assert k8s.CoreV1Api(api).list_namespace().items
    for name in ("not-the-server.example", None):  # None: checked against 127.0.0.2
        wrong = kubeconfig(server, port, name, tmp_path / "bad")
        client = k8s_config.new_client_from_config(str(wrong))  # type: ignore[no-untyped-call]
        with pytest.raises(Exception, match="(?i)certificate|hostname|doesn't match"):
            k8s.CoreV1Api(client).list_namespace(_request_timeout=5)


def test_kubectl(relayed: tuple[RunningApiServer, int], tmp_path: Path) -> None:
    server, port = relayed
    good = kubeconfig(server, port, "kubernetes", tmp_path / "good")
    assert "default" in server.kubectl("get", "ns", kubeconfig=good).stdout
    bad = kubeconfig(server, port, "not-the-server.example", tmp_path / "bad")
    refused = server.kubectl("get", "ns", kubeconfig=bad, check=False)
    assert refused.returncode != 0 and "certificate" in refused.stderr
