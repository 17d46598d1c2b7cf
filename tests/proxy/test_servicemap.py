"""Which endpoints a service port uses: readiness, terminating fallback, Local policies."""

from __future__ import annotations

import pytest

from nodelab.proxy.servicemap import (
    ServicePortName,
    build_endpoints_map,
    build_service_ports,
    categorize_endpoints,
)
from tests.proxy.builders import endpoints, service, state

pytestmark = pytest.mark.unit
WEB = ServicePortName("demo", "web", "http", "TCP")


def categories(*objs, node: str = "node1"):  # type: ignore[no-untyped-def]
    st = state(*objs)
    svc = build_service_ports(st)[WEB]
    return categorize_endpoints(build_endpoints_map(st, node).get(WEB, ()), svc)


def ips(eps) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.ip for e in eps]


def test_endpoints_sorted_and_matched_by_port_name() -> None:
    st = state(
        service("web", "10.96.0.10"),
        endpoints("web", "10.244.1.9", "10.244.1.10", "10.244.1.2"),
        endpoints("web", "10.244.2.2", port_name="other", slice_name="web-zz"),
    )
    emap = build_endpoints_map(st, "node1")
    assert [str(e) for e in emap[WEB]] == ["10.244.1.10:8080", "10.244.1.2:8080", "10.244.1.9:8080"]


def test_only_ready_endpoints() -> None:
    cats = categories(
        service("web", "10.96.0.10"),
        endpoints("web", "10.244.1.2", "10.244.1.3", not_ready=("10.244.1.3",)),
    )
    assert ips(cats.cluster) == ["10.244.1.2"] and cats.has_endpoints


def test_terminating_but_serving_used_only_when_nothing_is_ready() -> None:
    cats = categories(
        service("web", "10.96.0.10"), endpoints("web", "10.244.1.2", terminating=("10.244.1.2",))
    )
    assert ips(cats.cluster) == ["10.244.1.2"]
    cats = categories(
        service("web", "10.96.0.10"),
        endpoints("web", "10.244.1.2", "10.244.1.3", terminating=("10.244.1.2",)),
    )
    assert ips(cats.cluster) == ["10.244.1.3"]


def test_no_endpoints() -> None:
    cats = categories(service("web", "10.96.0.10"))
    assert not cats.has_endpoints and cats.cluster == ()


def test_internal_traffic_policy_local_keeps_this_nodes_endpoints() -> None:
    cats = categories(
        service("web", "10.96.0.10", internal_traffic_policy="Local"),
        endpoints("web", "10.244.1.2", "10.244.2.2", nodes={"10.244.2.2": "node2"}),
    )
    assert ips(cats.local) == ["10.244.1.2"] and cats.cluster == ()
    cats = categories(
        service("web", "10.96.0.10", internal_traffic_policy="Local"),
        endpoints("web", "10.244.2.2", node="node2"),
    )
    assert cats.local == () and cats.has_endpoints


def test_external_traffic_policy_local_needs_cluster_and_local() -> None:
    cats = categories(
        service("web", "10.96.0.10", node_port=30080, external_traffic_policy="Local"),
        endpoints("web", "10.244.1.2", "10.244.2.2", nodes={"10.244.2.2": "node2"}),
    )
    assert ips(cats.cluster) == ["10.244.1.2", "10.244.2.2"]
    assert ips(cats.local) == ["10.244.1.2"]
    assert ips(cats.reachable) == ["10.244.1.2", "10.244.2.2"]
