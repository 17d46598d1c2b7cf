"""The Endpoints controller's plan against upstream's pkg/controller/endpoint: subsets by
resolved ports, ready and not-ready addresses, terminating pods, headless and selectorless
Services."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.controllers.endpoints_plan import desired_endpoints, differs

pytestmark = pytest.mark.unit


def service(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default", "labels": {"tier": "front"}},
            "spec": {"selector": {"app": "web"}, "clusterIP": "10.96.0.10",
                     "ports": [{"name": "http", "port": 80, "targetPort": "http",
                                "protocol": "TCP"}], **spec}}


def pod(name: str, ip: str, *, ready: bool = True, port: int = 8080,
        deleting: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"u-{name}",
                                "labels": {"app": "web"}}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": metadata,
            "spec": {"nodeName": "node1", "containers": [
                {"name": "c", "ports": [{"name": "http", "containerPort": port}]}]},
            "status": {"phase": "Running", "podIP": ip, "conditions": [
                {"type": "Ready", "status": "True" if ready else "False"}]}}


def address(name: str, ip: str) -> dict[str, Any]:
    return {"ip": ip, "nodeName": "node1",
            "targetRef": {"kind": "Pod", "namespace": "default", "name": name, "uid": f"u-{name}"}}


def test_ready_and_not_ready_pods_by_resolved_port() -> None:
    pods = [pod("b", "10.0.0.2"), pod("a", "10.0.0.1"), pod("c", "10.0.0.3", ready=False),
            pod("d", "10.0.0.4", port=9090), pod("gone", "10.0.0.5", deleting=True)]
    body = desired_endpoints(service(), pods)
    assert body is not None
    assert body["metadata"] == {"name": "web", "namespace": "default",
                                "labels": {"tier": "front"}}
    assert body["subsets"] == [
        {"addresses": [address("a", "10.0.0.1"), address("b", "10.0.0.2")],
         "notReadyAddresses": [address("c", "10.0.0.3")],
         "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]},
        {"addresses": [address("d", "10.0.0.4")],
         "ports": [{"name": "http", "port": 9090, "protocol": "TCP"}]}]


def test_published_not_ready_addresses_count_as_ready() -> None:
    body = desired_endpoints(service(publishNotReadyAddresses=True),
                             [pod("c", "10.0.0.3", ready=False),
                              pod("gone", "10.0.0.5", deleting=True)])
    assert body is not None
    assert [a["ip"] for a in body["subsets"][0]["addresses"]] == ["10.0.0.3", "10.0.0.5"]


def test_no_pods_no_subsets_and_headless_label() -> None:
    body = desired_endpoints(service(clusterIP="None"), [])
    assert body == {"apiVersion": "v1", "kind": "Endpoints", "metadata": {
        "name": "web", "namespace": "default",
        "labels": {"tier": "front", "service.kubernetes.io/headless": ""}}}


def test_a_service_without_selector_keeps_its_owners_endpoints() -> None:
    assert desired_endpoints(service(selector=None), [pod("a", "10.0.0.1")]) is None
    assert desired_endpoints(service(type="ExternalName"), [pod("a", "10.0.0.1")]) is None


def test_differs_on_subsets_or_labels_only() -> None:
    wanted = desired_endpoints(service(), [pod("a", "10.0.0.1")])
    assert wanted is not None
    stored = {**wanted, "metadata": {**wanted["metadata"], "resourceVersion": "7"}}
    assert not differs(stored, wanted)
    assert differs({**stored, "subsets": []}, wanted)
