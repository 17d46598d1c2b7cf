"""bridge + host-local against the real kernel, nodelab's beside the reference plugins.

Every test builds a node namespace and pod namespaces (`nl<id>-...`) and runs the plugins inside
the node namespace through the invoker, for both flavours: nodelab's plugins from `plugin_dir()`
and Debian's reference plugins from /usr/lib/cni. The same assertions must hold for both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from nodelab.cni import CNIError, Result

from .conftest import Node, needs_reference, netns_path, privileged

pytestmark = [*privileged, needs_reference]

FLAVOURS = ["nodelab", "reference"]


def shape(result: Result, node: Node, pod: str) -> dict[str, Any]:
    """The result with what must differ (MACs, veth, bridge and netns names) as placeholders."""
    body = result.to_json()
    for interface in body.get("interfaces", []):
        if interface["name"] == node.bridge:
            interface["name"] = "<bridge>"
        if interface.get("sandbox") == netns_path(pod):
            interface["sandbox"] = "<pod netns>"
        assert interface.pop("mac", ""), f"interface {interface['name']} has no MAC"
        if interface["name"].startswith("veth"):
            assert len(interface["name"]) == 12
            interface["name"] = "veth<8 hex>"
    return body


def pod_state(node: Node, pod: str) -> dict[str, Any]:
    """What a pod's netns looks like from inside: its eth0 addresses, MTU and routes."""
    link = json.loads(node.exec(pod, "ip", "-j", "addr", "show", "dev", "eth0"))[0]
    routes = json.loads(node.exec(pod, "ip", "-j", "route", "show"))
    return {
        "mtu": link["mtu"],
        "addresses": sorted(
            f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"] if a["family"] == "inet"
        ),
        "routes": sorted((r["dst"], r.get("gateway", "")) for r in routes),
    }


def test_same_conflist_gives_results_of_the_same_shape(
    make_node: Callable[[str], Node],
) -> None:
    shapes, states = {}, {}
    for flavour in FLAVOURS:
        node = make_node(flavour)
        pod = node.pod(f"{flavour[:3]}1")
        conflist = node.conflist(isDefaultGateway=True, ipMasq=True, hairpinMode=True, mtu=1400)
        conflist.plugins[0].raw["ipam"]["routes"] = [{"dst": "10.96.0.0/16"}]
        result = node.invoker.add(conflist, "c1", netns_path(pod), "eth0")
        shapes[flavour] = shape(result, node, pod)
        states[flavour] = pod_state(node, pod)
        node.invoker.delete(conflist, "c1", netns_path(pod), "eth0")
    assert shapes["nodelab"]["interfaces"][0]["name"] == "<bridge>"
    assert shapes["nodelab"] == shapes["reference"]
    assert states["nodelab"] == states["reference"]
    assert states["nodelab"]["mtu"] == 1400


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_pods_reach_each_other_and_the_gateway(
    make_node: Callable[[str], Node], flavour: str
) -> None:
    node = make_node(flavour)
    conflist = node.conflist(isDefaultGateway=True, hairpinMode=True)
    pods = [node.pod("a"), node.pod("b")]
    results = [
        node.invoker.add(conflist, f"c{i}", netns_path(p), "eth0") for i, p in enumerate(pods)
    ]
    a, b = (str(r.ips[0].interface_address.ip) for r in results)
    gateway = results[0].ips[0].gateway
    assert gateway == "10.250.7.1"
    node.exec(pods[0], "ping", "-c", "1", "-W", "2", b)
    node.exec(pods[1], "ping", "-c", "1", "-W", "2", a)
    node.exec(pods[0], "ping", "-c", "1", "-W", "2", gateway)
    node.exec(node.name, "ping", "-c", "1", "-W", "2", a)
    for i, p in enumerate(pods):
        node.invoker.delete(conflist, f"c{i}", netns_path(p), "eth0")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_del_is_idempotent_and_cleans_up(make_node: Callable[[str], Node], flavour: str) -> None:
    node = make_node(flavour)
    conflist = node.conflist(ipMasq=True)
    pod = node.pod("a")
    result = node.invoker.add(conflist, "c1", netns_path(pod), "eth0")
    host_veth = result.interfaces[1].name
    assert "CNI-" in node.exec(node.name, "iptables-save", "-t", "nat")
    for _ in range(2):
        node.invoker.delete(conflist, "c1", netns_path(pod), "eth0")
    node.invoker.delete(conflist, "c1", None, "eth0")
    assert "eth0" not in node.exec(pod, "ip", "link")
    assert host_veth not in node.exec(node.name, "ip", "link")
    assert "CNI-" not in node.exec(node.name, "iptables-save", "-t", "nat")
    reservations = list((node.state / "networks" / conflist.name).glob("10.*"))
    assert reservations == []
    assert node.invoker.cache.load(conflist.name, "c1", "eth0") is None


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_an_add_onto_a_taken_interface_name_fails_and_leaves_nothing(
    make_node: Callable[[str], Node], flavour: str
) -> None:
    node = make_node(flavour)
    conflist = node.conflist()
    pod = node.pod("t")
    node.invoker.add(conflist, "c1", netns_path(pod), "eth0")
    with pytest.raises(CNIError) as info:
        node.invoker.add(conflist, "c2", netns_path(pod), "eth0")
    assert "already exists" in info.value.msg
    if flavour == "nodelab":
        assert info.value.code == 4
    assert node.exec(node.name, "ip", "link").count("master") == 1, "no second veth"
    held = sorted(p.name for p in (node.state / "networks" / conflist.name).glob("10.*"))
    assert held == ["10.250.7.2"], "the second ADD's address is released"
    node.invoker.delete(conflist, "c1", netns_path(pod), "eth0")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_addresses_are_released_and_reused(make_node: Callable[[str], Node], flavour: str) -> None:
    node = make_node(flavour)
    conflist = node.conflist(subnet="10.250.7.0/29")
    pods = [node.pod(f"p{i}") for i in range(6)]
    got = [
        str(node.invoker.add(conflist, f"c{i}", netns_path(p), "eth0").ips[0].address)
        for i, p in enumerate(pods[:5])
    ]
    assert got == [f"10.250.7.{i}/29" for i in range(2, 7)]
    with pytest.raises(CNIError) as info:
        node.invoker.add(conflist, "c5", netns_path(pods[5]), "eth0")
    if flavour == "nodelab":
        assert info.value.code == 11, "a full range is 'try again later'"
        assert "eth0" not in node.exec(pods[5], "ip", "link"), "a failed ADD undoes itself"
        assert node.exec(node.name, "ip", "link").count("master") == 5
    node.invoker.delete(conflist, "c5", netns_path(pods[5]), "eth0")
    node.invoker.delete(conflist, "c2", netns_path(pods[2]), "eth0")
    reused = node.invoker.add(conflist, "c5", netns_path(pods[5]), "eth0")
    assert reused.ips[0].address == "10.250.7.4/29"
    for i, p in enumerate(pods):
        node.invoker.delete(conflist, f"c{i}", netns_path(p), "eth0")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_check_passes_then_notices_a_lost_address(
    make_node: Callable[[str], Node], flavour: str
) -> None:
    node = make_node(flavour)
    # No IPAM routes: the reference bridge (1.1.1) CHECK expects a gateway-less route without
    # its gateway in the table, while it installs it via the gateway, so CHECK would always fail.
    conflist = node.conflist(routes=())
    pod = node.pod("a")
    result = node.invoker.add(conflist, "c1", netns_path(pod), "eth0")
    node.invoker.check(conflist, "c1", netns_path(pod), "eth0")
    node.exec(pod, "ip", "addr", "del", result.ips[0].address, "dev", "eth0")
    with pytest.raises(CNIError):
        node.invoker.check(conflist, "c1", netns_path(pod), "eth0")
    node.invoker.delete(conflist, "c1", netns_path(pod), "eth0")


def test_gc_removes_stale_attachments_and_reservations(make_node: Callable[[str], Node]) -> None:
    node = make_node("nodelab")
    conflist = node.conflist(version="1.1.0")
    keep, drop = node.pod("keep"), node.pod("drop")
    kept = node.invoker.add(conflist, "keep", netns_path(keep), "eth0")
    node.invoker.add(conflist, "drop", netns_path(drop), "eth0")
    store = node.state / "networks" / conflist.name
    (store / "10.250.7.200").write_bytes(b"ghost\r\neth0")
    node.invoker.gc(conflist, [("keep", "eth0")])
    left = sorted(p.name for p in store.glob("10.*"))
    assert left == [kept.ips[0].address.split("/")[0]]
    assert "eth0" not in node.exec(drop, "ip", "link")
    assert "eth0" in node.exec(keep, "ip", "link")
    node.invoker.status(conflist)
    node.invoker.delete(conflist, "keep", netns_path(keep), "eth0")


def test_status_reports_a_full_range(make_node: Callable[[str], Node]) -> None:
    node = make_node("nodelab")
    conflist = node.conflist(version="1.1.0", subnet="10.250.7.0/30")
    pod = node.pod("a")
    node.invoker.status(conflist)
    node.invoker.add(conflist, "c1", netns_path(pod), "eth0")
    with pytest.raises(CNIError) as info:
        node.invoker.status(conflist)
    assert info.value.code == 50
    node.invoker.delete(conflist, "c1", netns_path(pod), "eth0")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_concurrent_adds_get_distinct_addresses(
    make_node: Callable[[str], Node], flavour: str
) -> None:
    """Eight ADDs at once on a fresh node: one bridge, one gateway, eight addresses."""
    node = make_node(flavour)
    conflist = node.conflist(routes=())
    pods = [node.pod(f"c{i}") for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(
                lambda i: node.invoker.add(conflist, f"c{i}", netns_path(pods[i]), "eth0"),
                range(8),
            )
        )
    addresses = {r.ips[0].address for r in results}
    assert len(addresses) == 8
    for pod in pods:
        node.exec(pod, "ping", "-c", "1", "-W", "2", "10.250.7.1")
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda i: node.invoker.delete(conflist, f"c{i}", netns_path(pods[i]), "eth0"),
                range(8),
            )
        )
    assert list((node.state / "networks" / conflist.name).glob("10.*")) == []


def test_dual_stack_results_have_the_same_shape(make_node: Callable[[str], Node]) -> None:
    shapes = {}
    for flavour in FLAVOURS:
        node = make_node(flavour)
        pod = node.pod("ds")
        conflist = node.conflist(routes=())
        conflist.plugins[0].raw["ipam"]["ranges"] = [
            [{"subnet": "10.250.7.0/24"}],
            [{"subnet": "fd00:10:250:7::/64"}],
        ]
        result = node.invoker.add(conflist, "c1", netns_path(pod), "eth0")
        shapes[flavour] = shape(result, node, pod)
        addresses = node.exec(pod, "ip", "addr", "show", "dev", "eth0")
        assert "10.250.7.2/24" in addresses and "fd00:10:250:7::2/64" in addresses
        node.invoker.delete(conflist, "c1", netns_path(pod), "eth0")
    assert shapes["nodelab"] == shapes["reference"]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_requested_address_through_cni_args(
    make_node: Callable[[str], Node], flavour: str
) -> None:
    node = make_node(flavour)
    conflist = node.conflist(routes=())
    pod = node.pod("ip")
    args = {"IgnoreUnknown": "1", "IP": "10.250.7.77"}
    result = node.invoker.add(conflist, "c1", netns_path(pod), "eth0", args=args)
    assert result.ips[0].address == "10.250.7.77/24"
    node.invoker.delete(conflist, "c1", netns_path(pod), "eth0", args=args)
