import ipaddress

import pytest

from nodelab.errors import NodelabError
from nodelab.lab.names import LabNames, validate_lab_name
from nodelab.lab.topology import choose_subnet, plan_topology, preferred_subnet

pytestmark = pytest.mark.unit


def net(text: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(text)


def test_names_follow_the_lab_prefix_and_fit_linux_link_names() -> None:
    names = LabNames("abcdef")
    assert names.bridge == "nlabcdef-br"
    assert names.node_netns(99) == "nlabcdef-node99"
    assert names.node_veth(99) == "nlabcdef-veth99"
    for link in (names.bridge, names.service_bridge, names.node_netns(99), names.node_veth(99)):
        assert len(link) <= 15
    assert names.owns("nlabcdef-node1")
    assert not names.owns("nlabcdefg-node1")


@pytest.mark.parametrize("bad", ["", "A", "1lab", "toolong7", "a-b", "a_b"])
def test_invalid_lab_names_are_refused_with_the_rule(bad: str) -> None:
    with pytest.raises(NodelabError, match="1 to 6 lowercase"):
        validate_lab_name(bad)


def test_preferred_subnet_is_stable_and_in_the_lab_range() -> None:
    assert preferred_subnet("demo") == preferred_subnet("demo")
    assert preferred_subnet("demo").subnet_of(net("172.29.0.0/16"))
    assert preferred_subnet("demo").prefixlen == 24


def test_subnet_moves_when_a_host_route_overlaps() -> None:
    first = preferred_subnet("demo")
    assert choose_subnet("demo", [net("0.0.0.0/0"), net("192.0.2.0/24")]) == first
    moved = choose_subnet("demo", [first])
    assert moved != first and not moved.overlaps(first)
    wide = choose_subnet("demo", [net("172.29.0.0/17"), net("0.0.0.0/0")])
    assert wide.subnet_of(net("172.29.128.0/17"))


def test_no_free_subnet_is_a_clear_error() -> None:
    with pytest.raises(NodelabError, match="no free /24"):
        choose_subnet("demo", [net("172.29.0.0/16")])


def test_node_addresses_start_at_dot_11_and_gateway_is_dot_1() -> None:
    topology = plan_topology("a", net("172.29.5.0/24"), 3)
    assert str(topology.gateway) == "172.29.5.1"
    assert [str(n.ip) for n in topology.nodes] == ["172.29.5.11", "172.29.5.12", "172.29.5.13"]
    assert [n.netns for n in topology.nodes] == ["nla-node1", "nla-node2", "nla-node3"]
    assert topology.registry == "172.29.5.1:5000"
    assert str(topology.service_cidr) == "10.96.0.0/16"
    assert str(topology.pod_cidr) == "10.244.0.0/16"


def test_a_node_is_found_by_name_and_a_missing_one_named_with_the_labs() -> None:
    topology = plan_topology("t", net("172.29.9.0/24"), 2)
    assert topology.node("node2").ip == ipaddress.IPv4Address("172.29.9.12")
    with pytest.raises(NodelabError, match="lab t has no node 'node3': its nodes are node1, "
                                           "node2"):
        topology.node("node3")
