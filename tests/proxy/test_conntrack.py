"""UDP conntrack cleanup plans: which flows to forget when endpoints change."""

from __future__ import annotations

import pytest

from nodelab.proxy.conntrack import plan_conntrack_cleanup
from tests.proxy.builders import NODE, endpoints, service, state

pytestmark = pytest.mark.unit


def dns(*ips: str):  # type: ignore[no-untyped-def]
    return state(
        service("dns", "10.96.0.53", 53, protocol="UDP", port_name="dns", node_port=30053),
        endpoints("dns", *ips, port=5353, protocol="UDP", port_name="dns"),
    )


def test_removed_udp_endpoint_flows_are_deleted() -> None:
    cmds = plan_conntrack_cleanup(dns("10.244.1.2", "10.244.1.3"), dns("10.244.1.2"), NODE)
    assert cmds == [
        ["conntrack", "-D", "-p", "udp", "--orig-dst", "10.96.0.53", "--dst-nat", "10.244.1.3"],
        ["conntrack", "-D", "-p", "udp", "--dport", "30053", "--dst-nat", "10.244.1.3"],
    ]


def test_udp_service_getting_its_first_endpoint_forgets_rejected_flows() -> None:
    cmds = plan_conntrack_cleanup(dns(), dns("10.244.1.2"), NODE)
    assert ["conntrack", "-D", "-p", "udp", "--orig-dst", "10.96.0.53"] in cmds
    assert ["conntrack", "-D", "-p", "udp", "--dport", "30053"] in cmds


def test_tcp_and_unchanged_services_need_nothing() -> None:
    tcp = state(service("web", "10.96.0.10"), endpoints("web", "10.244.1.2"))
    assert plan_conntrack_cleanup(tcp, state(service("web", "10.96.0.10")), NODE) == []
    assert plan_conntrack_cleanup(dns("10.244.1.2"), dns("10.244.1.2"), NODE) == []
    assert plan_conntrack_cleanup(None, dns("10.244.1.2"), NODE) == []


def test_cleanup_limited_to_the_changed_services() -> None:
    before, after = dns("10.244.1.2", "10.244.1.3"), dns("10.244.1.2")
    full = plan_conntrack_cleanup(before, after, NODE)
    assert plan_conntrack_cleanup(before, after, NODE, {("demo", "dns")}) == full
    assert plan_conntrack_cleanup(before, after, NODE, {("demo", "web")}) == []
    assert plan_conntrack_cleanup(before, after, NODE, set()) == []
