"""Static forms and pure readers that need no root: a recorded network snapshot drawn with its
diff highlighted, cgroup v2 files (the format this v1 host does not mount) and the SVG charts."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodelab.errors import NodelabError
from nodelab.host.cgroup_stats import read_v2_group
from nodelab.host.netlink_snapshot import (
    ROOT,
    LinkInfo,
    LinkRef,
    NamespaceSnapshot,
    NetworkSnapshot,
    RouteInfo,
    diff_snapshots,
)
from nodelab.widgets.cgroup_view import sample_between
from nodelab.widgets.live import LiveView
from nodelab.widgets.namespace_source import pinned_namespaces
from nodelab.widgets.network_graph import HIGHLIGHT
from nodelab.widgets.network_view import render_network
from nodelab.widgets.plots import Chart, Marker, Series, line_chart

pytestmark = pytest.mark.unit


def link(ns: str, index: int, name: str, kind: str, *, master: str | None = None,
         peer: LinkRef | None = None, addresses: tuple[str, ...] = ()) -> LinkInfo:
    return LinkInfo(ns, index, name, kind, "UP", "02:00:00:00:00:01", 1500, master,
                    addresses, peer)


NODE = NamespaceSnapshot("nla-node1", 4026532301, (
    link("nla-node1", 1, "lo", "loopback", addresses=("127.0.0.1/8",)),
    link("nla-node1", 2, "eth0", "veth", addresses=("172.29.5.11/24",)),
), (RouteInfo("nla-node1", "172.29.5.0/24", "eth0", None, "link"),))

POD = NamespaceSnapshot("nla-pod1", 4026532402, (
    link("nla-pod1", 2, "eth0", "veth", peer=LinkRef("nla-node1", "veth1a2b"),
         addresses=("10.244.1.2/24",)),
), (RouteInfo("nla-pod1", "default", "eth0", "10.244.1.1", "universe"),))

NODE_AFTER = NamespaceSnapshot(NODE.name, NODE.inode, (
    *NODE.links,
    link("nla-node1", 3, "cni0", "bridge", addresses=("10.244.1.1/24",)),
    link("nla-node1", 4, "veth1a2b", "veth", master="cni0", peer=LinkRef("nla-pod1", "eth0")),
), NODE.routes)


def test_diff_names_what_a_cni_add_made() -> None:
    before = NetworkSnapshot((NODE,))
    after = NetworkSnapshot((NODE_AFTER, POD))
    diff = diff_snapshots(before, after)
    assert diff.added_namespaces == ("nla-pod1",)
    assert diff.added_links == (LinkRef("nla-node1", "cni0"), LinkRef("nla-node1", "veth1a2b"),
                                LinkRef("nla-pod1", "eth0"))
    assert (LinkRef("nla-pod1", "eth0"), "10.244.1.2/24") in diff.added_addresses
    assert "+ route default via 10.244.1.1 dev eth0 in nla-pod1" in diff.lines()
    assert diff_snapshots(after, before).removed_namespaces == ("nla-pod1",)
    assert diff_snapshots(after, after).empty


def test_network_drawing_highlights_the_diff() -> None:
    before = NetworkSnapshot((NODE,))
    after = NetworkSnapshot((NODE_AFTER, POD))
    html = render_network(after, diff_snapshots(before, after))
    assert "<svg" in html and "+ netns nla-pod1" in html and "+ 10.244.1.2/24" in html
    assert "inode 4026532402" in html and HIGHLIGHT in html
    assert ">veth</text>" in html  # the veth pair's edge across namespaces
    assert HIGHLIGHT not in render_network(before, diff_snapshots(before, before))
    assert ROOT == ""


def test_cgroup_v2_files(tmp_path: Path) -> None:
    files = {
        "memory.current": "10485760\n", "memory.max": "33554432\n", "memory.peak": "20971520\n",
        "memory.events": "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n",
        "cpu.max": "20000 100000\n",
        "cpu.stat": "usage_usec 2000000\nuser_usec 1500000\nsystem_usec 500000\n"
                    "nr_periods 100\nnr_throttled 80\nthrottled_usec 900000\n",
        "cgroup.procs": "42\n7\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    first = read_v2_group("nodelab/x", tmp_path, now=10.0)
    assert (first.memory_bytes, first.memory_limit, first.memory_peak) == (
        10 << 20, 32 << 20, 20 << 20)
    assert first.oom_kills == 1 and first.cpu_quota_cores == pytest.approx(0.2)
    assert (first.cpu_usage_ns, first.cpu_throttled_ns) == (2_000_000_000, 900_000_000)
    assert first.pids == (7, 42)
    (tmp_path / "memory.max").write_text("max\n")
    (tmp_path / "cpu.stat").write_text("usage_usec 2500000\nnr_periods 110\nnr_throttled 88\n")
    second = read_v2_group("nodelab/x", tmp_path, now=12.0)
    assert second.memory_limit is None
    sample = sample_between(first, second)
    assert sample.cpu_cores == pytest.approx(0.25)
    assert sample.throttled_fraction == pytest.approx(0.8)
    assert not read_v2_group("nodelab/y", tmp_path / "missing").exists


def test_nsfs_pins_from_mountinfo() -> None:
    text = ("612 29 0:4 net:[4026532402] /run/netns/nla-pod1 rw shared:5 - nsfs nsfs rw\n"
            "30 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n")
    assert pinned_namespaces(text) == {4026532402: ["/run/netns/nla-pod1"]}


def test_line_chart_draws_series_limits_and_markers() -> None:
    svg = line_chart(Chart("memory", [Series("used", "#000", [(0, 1.0), (5, 3.0)]),
                                      Series("none yet", "#111", [])],
                           limits=[("limit", 4.0, "#f00")], markers=[Marker(3, "OOM")]))
    assert svg.startswith("<svg") and svg.count("<polyline") == 1
    assert ">limit</text>" in svg and ">OOM</text>" in svg


def test_a_view_whose_source_fails_shows_why_instead_of_a_traceback() -> None:
    def broken() -> int:
        raise NodelabError("cannot read the thing: it is gone (bring it back)")

    class Broken(LiveView[int]):
        def render_html(self, snapshot: int) -> str:
            return str(snapshot)

    view = Broken(broken, title="broken")
    bundle = view._repr_mimebundle_()
    assert "it is gone (bring it back)" in bundle["text/html"]
    assert not view.running and view.error is not None
