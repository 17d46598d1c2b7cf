"""Converting API objects (JSON dicts and the official client's models) into the input model."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from nodelab.proxy import (
    endpoint_slice_from_dict,
    endpoint_slice_from_k8s,
    service_from_dict,
    service_from_k8s,
)

pytestmark = pytest.mark.unit

SERVICE: dict[str, Any] = {
    "metadata": {"namespace": "demo", "name": "web"},
    "spec": {
        "type": "NodePort",
        "clusterIP": "10.96.0.10",
        "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080}],
        "sessionAffinity": "ClientIP",
        "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}},
        "externalTrafficPolicy": "Local",
        "internalTrafficPolicy": "Cluster",
    },
}
SLICE: dict[str, Any] = {
    "metadata": {
        "namespace": "demo",
        "name": "web-x1",
        "labels": {"kubernetes.io/service-name": "web"},
    },
    "addressType": "IPv4",
    "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    "endpoints": [
        {"addresses": ["10.244.1.2"], "conditions": {"ready": True}, "nodeName": "n1"},
        {
            "addresses": ["10.244.1.3"],
            "conditions": {"ready": False, "serving": True, "terminating": True},
        },
        {"addresses": ["10.244.1.4"], "conditions": {}},
    ],
}


def test_service_from_dict() -> None:
    svc = service_from_dict(SERVICE)
    assert svc is not None
    assert svc.key == ("demo", "web")
    assert svc.ports[0].node_port == 30080 and svc.ports[0].name == "http"
    assert svc.ports[0].protocol == "TCP"
    assert svc.session_affinity == "ClientIP" and svc.sticky_seconds == 60
    assert svc.external_traffic_policy == "Local"


def test_headless_and_external_name_services_are_skipped() -> None:
    assert service_from_dict({"metadata": {"name": "h"}, "spec": {"clusterIP": "None"}}) is None
    assert service_from_dict({"metadata": {"name": "e"}, "spec": {"type": "ExternalName"}}) is None


def test_node_port_ignored_for_cluster_ip_services() -> None:
    obj = {
        "metadata": {"name": "c"},
        "spec": {"clusterIP": "10.96.0.5", "ports": [{"port": 80, "nodePort": 30001}]},
    }
    svc = service_from_dict(obj)
    assert svc is not None and svc.ports[0].node_port == 0


def test_endpoint_slice_conditions_default_as_the_api_says() -> None:
    eps = endpoint_slice_from_dict(SLICE)
    assert eps is not None and eps.service_name == "web"
    first, second, third = eps.endpoints
    assert (first.ready, first.serving, first.terminating, first.node_name) == (
        True,
        True,
        False,
        "n1",
    )
    assert (second.ready, second.serving, second.terminating) == (False, True, True)
    assert (third.ready, third.serving, third.terminating) == (True, True, False)


def test_slice_without_service_label_is_ignored() -> None:
    assert endpoint_slice_from_dict({"metadata": {"name": "x"}, "endpoints": []}) is None


def test_official_client_objects_convert_like_dicts() -> None:
    api = client.ApiClient()
    v1svc = api._ApiClient__deserialize(SERVICE, "V1Service")  # type: ignore[attr-defined]
    v1eps = api._ApiClient__deserialize(SLICE, "V1EndpointSlice")  # type: ignore[attr-defined]
    assert isinstance(v1svc, client.V1Service)
    assert service_from_k8s(v1svc) == service_from_dict(SERVICE)
    assert endpoint_slice_from_k8s(v1eps) == endpoint_slice_from_dict(SLICE)


def test_client_objects_built_by_hand() -> None:
    v1 = client.V1Service(
        metadata=client.V1ObjectMeta(namespace="demo", name="db"),
        spec=client.V1ServiceSpec(
            cluster_ip="10.96.0.20", ports=[client.V1ServicePort(port=5432, name="pg")]
        ),
    )
    svc = service_from_k8s(v1)
    assert svc is not None and svc.cluster_ip == "10.96.0.20" and svc.ports[0].name == "pg"
