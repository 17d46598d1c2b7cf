"""loopback, nodelab's beside the reference plugin, and a mixed chain through one invoker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nodelab.cni import CNIInvoker, parse_conflist, plugin_dir

from .conftest import REFERENCE_DIR, Node, needs_reference, netns_path, privileged

pytestmark = [*privileged, needs_reference]


@pytest.mark.parametrize("flavour", ["nodelab", "reference"])
def test_loopback_brings_lo_up_and_down(make_node: Callable[[str], Node], flavour: str) -> None:
    node = make_node(flavour)
    pod = node.pod("lo")
    conflist = parse_conflist({"cniVersion": "1.0.0", "name": "lo", "type": "loopback"})
    result = node.invoker.add(conflist, "c1", netns_path(pod), "lo")
    assert result.to_json() == {
        "cniVersion": "1.0.0",
        "interfaces": [{"name": "lo", "mac": "00:00:00:00:00:00", "sandbox": netns_path(pod)}],
        "ips": [{"interface": 0, "address": "127.0.0.1/8"}, {"interface": 0, "address": "::1/128"}],
        "dns": {},
    }
    assert "UP" in node.exec(pod, "ip", "link", "show", "lo")
    node.invoker.delete(conflist, "c1", netns_path(pod), "lo")
    node.invoker.delete(conflist, "c1", None, "lo")
    assert "state DOWN" in node.exec(pod, "ip", "link", "show", "lo")


def test_nodelab_plugins_come_first_on_the_default_path(
    make_node: Callable[[str], Node], tmp_path: Path
) -> None:
    """nodelab's bridge chained with the reference portmap: the spec is the only contract."""
    node = make_node("nodelab")
    invoker = CNIInvoker(
        [plugin_dir(), REFERENCE_DIR], tmp_path / "cache", exec_netns=node.invoker.exec_netns
    )
    conflist = node.conflist(
        routes=(), extra_plugins=[{"type": "portmap", "capabilities": {"portMappings": True}}]
    )
    pod = node.pod("mix")
    caps = {"portMappings": [{"hostPort": 8081, "containerPort": 80, "protocol": "tcp"}]}
    invoker.add(conflist, "c1", netns_path(pod), "eth0", capability_args=caps)
    assert "--to-destination 10.250.7.2:80" in node.exec(node.name, "iptables-save", "-t", "nat")
    invoker.delete(conflist, "c1", netns_path(pod), "eth0")
    assert "10.250.7.2:80" not in node.exec(node.name, "iptables-save", "-t", "nat")


def test_bridge_delegates_to_whatever_ipam_the_path_finds_first(
    make_node: Callable[[str], Node], tmp_path: Path
) -> None:
    """nodelab's bridge (symlinked into another dir) with the reference host-local before ours."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bridge").symlink_to(plugin_dir() / "bridge")
    log = tmp_path / "ipam.log"
    ipam = bin_dir / "host-local"
    ipam.write_text(f'#!/bin/sh\necho "$CNI_COMMAND" >> {log}\nexec {REFERENCE_DIR}/host-local\n')
    ipam.chmod(0o755)
    node = make_node("nodelab")
    invoker = CNIInvoker(
        [bin_dir, plugin_dir()], tmp_path / "cache", exec_netns=node.invoker.exec_netns
    )
    conflist = node.conflist(routes=())
    pod = node.pod("dlg")
    result = invoker.add(conflist, "c1", netns_path(pod), "eth0")
    assert result.ips[0].address == "10.250.7.2/24"
    invoker.check(conflist, "c1", netns_path(pod), "eth0")
    invoker.delete(conflist, "c1", netns_path(pod), "eth0")
    assert log.read_text().split() == ["ADD", "CHECK", "DEL"]
