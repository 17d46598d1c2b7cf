"""The bridge plugin's `ip -batch` plans: exactly the commands a person would type."""

from __future__ import annotations

import pytest

from nodelab.cni.links import VethPlan, container_side_plan, gateway_address_plan, host_side_plan
from nodelab.cni.result import IPConfig, Route

pytestmark = pytest.mark.unit
IP = IPConfig("10.244.1.7/24", "10.244.1.1", 2)


def test_the_node_side_sets_the_bridge_up_makes_the_pair_and_the_gateway() -> None:
    plan = VethPlan("cni0", "veth0a1b2c3d", "eth0", "/var/run/netns/pod", 1500, hairpin=True)
    assert host_side_plan(plan, gateway_address_plan("cni0", [IP])) == [
        "link set cni0 up",
        "link add veth0a1b2c3d mtu 1500 type veth peer name eth0 mtu 1500 "
        "netns /var/run/netns/pod",
        "link set veth0a1b2c3d master cni0",
        "link set dev veth0a1b2c3d type bridge_slave hairpin on",
        "addr replace 10.244.1.1/24 dev cni0",
        "link set veth0a1b2c3d up",
        "link show dev cni0",
        "link show dev veth0a1b2c3d",
    ]


@pytest.mark.parametrize(("ips", "lines"), [
    ([IP], ["addr replace 10.244.1.1/24 dev cni0"]),
    ([IP, IPConfig("10.244.1.8/24", "10.244.1.1", 2)], ["addr replace 10.244.1.1/24 dev cni0"]),
    ([IPConfig("10.244.1.7/24", "", 2)], []),
], ids=["one", "same-gateway-once", "no-gateway"])
def test_gateway_addresses(ips: list[IPConfig], lines: list[str]) -> None:
    assert gateway_address_plan("cni0", ips) == lines


def test_the_pod_side_routes_go_via_the_gateway_unless_they_name_one() -> None:
    routes = [Route("0.0.0.0/0"), Route("10.96.0.0/16", "10.244.1.254")]
    assert container_side_plan("eth0", [IP], routes) == [
        "link set eth0 up",
        "addr add 10.244.1.7/24 dev eth0",
        "route add 0.0.0.0/0 via 10.244.1.1 dev eth0",
        "route add 10.96.0.0/16 via 10.244.1.254 dev eth0",
        "link show dev eth0",
    ]
