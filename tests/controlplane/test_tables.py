"""Server-side printing: the cells kubectl shows, as pure functions."""

from __future__ import annotations

import datetime

import pytest

from nodelab.controlplane.http.tables import table
from nodelab.controlplane.resources import ResourceType, lookup
from nodelab.kubewire.times import age
from nodelab.kubewire.times import format_time as rfc3339

pytestmark = pytest.mark.unit


def _rt(plural: str) -> ResourceType:
    found = lookup("", "v1", plural)
    assert found is not None
    return found


def _ago(seconds: int) -> str:
    return rfc3339(datetime.datetime.now(datetime.timezone.utc)
                   - datetime.timedelta(seconds=seconds))


def test_ages_read_like_kubectl() -> None:
    assert age(_ago(5)) in ("5s", "6s")
    assert age(_ago(300)) == "5m"
    assert age(_ago(3 * 3600 + 60)) == "3h1m"
    assert age(_ago(3 * 86400)) == "3d"


def test_pod_rows() -> None:
    running = {"metadata": {"name": "a", "creationTimestamp": _ago(10)},
               "spec": {"nodeName": "n1", "containers": [{"name": "c"}, {"name": "d"}]},
               "status": {"phase": "Running", "podIP": "10.244.0.5", "containerStatuses": [
                   {"name": "c", "ready": True, "restartCount": 2, "state": {"running": {}}},
                   {"name": "d", "ready": False, "restartCount": 1,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}
    init = {"metadata": {"name": "b"}, "spec": {"initContainers": [{"name": "i"}],
                                                "containers": [{"name": "c"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"name": "i", "state": {"running": {}}}]}}
    rows = table(_rt("pods"), [running, init], "7")["rows"]
    assert rows[0]["cells"][:4] == ["a", "1/2", "CrashLoopBackOff", 3]
    assert rows[0]["cells"][5:7] == ["10.244.0.5", "n1"]
    assert rows[1]["cells"][2] == "Init:0/1"
    assert rows[0]["object"]["kind"] == "PartialObjectMetadata"


def test_service_and_node_rows() -> None:
    svc = {"metadata": {"name": "web"}, "spec": {
        "type": "NodePort", "clusterIP": "10.96.0.20", "selector": {"app": "web"},
        "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}}
    cells = table(_rt("services"), [svc], "1")["rows"][0]["cells"]
    assert cells[:5] == ["web", "NodePort", "10.96.0.20", "<none>", "80:30080/TCP"]
    assert cells[6] == "app=web"
    node = {"metadata": {"name": "n1", "labels": {"node-role.kubernetes.io/worker": ""}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "nodeInfo": {"kubeletVersion": "v1.37.0"},
                       "addresses": [{"type": "InternalIP", "address": "172.29.1.11"}]}}
    cells = table(_rt("nodes"), [node], "1")["rows"][0]["cells"]
    assert cells[:3] == ["n1", "Ready", "worker"]
    assert cells[4:6] == ["v1.37.0", "172.29.1.11"]
