"""NetworkView against a real lab: the node's namespace read from the kernel, a pod-like
namespace wired in by hand, the highlighted diff, live polling and the stop when the lab
goes down.

The first two tests only read the lab (each removes the namespace it wires in), so they use
the package's lab (`cluster`, tests/widgets/conftest.py); the last takes its lab down, so it has
its own."""

from __future__ import annotations

import pytest

from nodelab.host.netlink_snapshot import ROOT, LinkRef
from nodelab.lab.lab import Lab
from nodelab.widgets.network_graph import HIGHLIGHT
from nodelab.widgets.network_view import NetworkView
from tests.widgets.conftest import PodMaker, privileged, wait_for

pytestmark = [*privileged, pytest.mark.slow]


def test_node_network_is_read_from_the_kernel(cluster: Lab) -> None:
    node = cluster.topology.nodes[0]
    view = NetworkView.for_node(cluster, node.name)
    snapshot = view.refresh()

    names = [ns.name for ns in snapshot.namespaces]
    assert names[:2] == [ROOT, node.netns]
    # and the pods already on the node (the lab's cluster DNS): each its own namespace
    assert all(name.startswith(f"{node.netns}-") for name in names[2:])
    root = snapshot.namespace(ROOT)
    assert root is not None
    assert {link.name for link in root.links} >= {cluster.topology.bridge, node.veth}
    assert all(link.name.startswith(f"nl{cluster.name}-") for link in root.links)
    veth = root.link(node.veth)
    assert veth is not None and veth.master == cluster.topology.bridge
    assert veth.peer == LinkRef(node.netns, "eth0")
    eth0 = snapshot.link(LinkRef(node.netns, "eth0"))
    assert eth0 is not None and f"{node.ip}/24" in eth0.addresses

    html = view.static_html()
    assert "<svg" in html and node.netns in html and str(node.ip) in html
    assert HIGHLIGHT not in html, "nothing changed yet, nothing may be highlighted"


def test_what_a_pod_add_made_is_highlighted(cluster: Lab, pod_in_node: PodMaker) -> None:
    node = cluster.topology.nodes[0]
    view = NetworkView.for_node(cluster, node.name)
    view.mark()

    pod = pod_in_node(f"nl{cluster.name}", node.netns, 1)
    view.refresh()
    diff = view.diff
    assert diff is not None
    assert diff.added_namespaces == (pod.netns,)
    assert LinkRef(node.netns, pod.host_veth) in diff.added_links
    assert LinkRef(node.netns, pod.bridge) in diff.added_links
    assert LinkRef(pod.netns, "eth0") in diff.added_links
    assert (LinkRef(pod.netns, "eth0"), pod.address) in diff.added_addresses
    assert any(r.namespace == pod.netns and r.destination == "default"
               and r.gateway == "10.244.0.1" for r in diff.added_routes)
    assert not diff.removed_links

    assert view.snapshot is not None
    host_end = view.snapshot.link(LinkRef(node.netns, pod.host_veth))
    assert host_end is not None
    assert host_end.peer == LinkRef(pod.netns, "eth0") and host_end.master == pod.bridge

    html = view.static_html()
    assert HIGHLIGHT in html
    assert f"+ {pod.address}" in html
    assert f"+ netns {pod.netns}" in html


def test_live_updates_then_stops_when_the_lab_goes_down(
    lab: Lab, pod_in_node: PodMaker
) -> None:
    node = lab.topology.nodes[0]
    view = NetworkView.for_node(lab, node.name, interval=0.1)
    _ = view.widget
    view.start()
    try:
        first = view.updates
        pod_in_node(f"nl{lab.name}", node.netns, 2)
        assert wait_for(lambda: "pod2" in view.body.value), "the poller did not see the pod"
        assert view.updates > first
        lab.down(progress=lambda _m: None)
        assert wait_for(lambda: not view.running), "the view kept polling a lab that is down"
        assert "the lab is down" in view._status.value if view._status else False
    finally:
        view.stop()
