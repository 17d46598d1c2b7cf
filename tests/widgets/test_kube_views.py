"""NodeView, PodLifecycleView and ClusterView from objects shaped as the API serves them.

The kubelet and the embedded API server are other components; until they land these views are
checked on static objects (`StaticObjects`), which is also how a host without a lab shows them.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from nodelab.errors import NodelabError
from nodelab.widgets.cluster_view import ClusterView
from nodelab.widgets.kube_objects import StaticObjects
from nodelab.widgets.node_view import NodeView
from nodelab.widgets.pod_lifecycle_view import PodLifecycleView, pod_timeline
from tests.widgets import objects as o


@pytest.mark.unit
def test_node_view_shows_registration_and_heartbeats(monkeypatch: pytest.MonkeyPatch) -> None:
    # the objects' clock is set when the module is imported; a long suite runs this much later
    monkeypatch.setattr(o, "T0", datetime.now(timezone.utc).replace(microsecond=0)
                        - timedelta(minutes=5))
    source = StaticObjects([o.node(), o.lease(renewed=280)])
    view = NodeView(source, "node1")
    view.refresh()
    html = view.static_html()
    assert "Node node1" in html
    assert "24586044Ki" in html and "24483644Ki" in html
    assert "5.0% reserved" in html  # 2 CPUs, 1900m allocatable
    assert "node.kubernetes.io/not-ready:NoSchedule" in html
    assert "kubernetes.io/hostname=node1" in html
    assert "KubeletReady" in html and "podCIDR 10.244.1.0/24" in html
    assert "holder node1" in html and "duration 40s" in html
    renewed = re.search(r"renewed (\d+)s ago", html)
    assert renewed and 20 <= int(renewed.group(1)) < 30, "the lease was renewed 20 s before now"
    assert view.render_text(view.snapshot) == "node node1: Ready=True"

    source.objects[1] = o.lease(renewed=290)
    view.refresh()
    source.objects[1] = o.lease(renewed=300)
    view.refresh()
    assert len(view.renewals) == 3
    assert "3 renewals seen, intervals 10.0s 10.0s" in view.static_html()


@pytest.mark.unit
def test_node_view_of_a_node_not_registered_yet() -> None:
    view = NodeView(StaticObjects([]), "node2")
    assert "not registered" in view.static_html()


@pytest.mark.unit
def test_pod_timeline_orders_what_the_pod_and_its_events_tell() -> None:
    events = (o.event("Scheduled", 11, "assigned default/web to node1"),
              o.event("Pulled", 13, "image web:1.0 present"),
              o.event("BackOff", 21, "Back-off restarting failed container", kind="Warning"))
    moments = pod_timeline(o.pod(), events)
    texts = [m.text for m in moments]
    assert texts[0] == "created (API server stored the Pod)"
    order = [next(i for i, t in enumerate(texts) if needle in t) for needle in (
        "created", "Scheduled", "startTime", "Pulled", "started (previous run)",
        "exited with code 137 (OOMKilled)", "BackOff", "started (running)", "Ready=True")]
    assert order == sorted(order), texts


@pytest.mark.unit
def test_pod_lifecycle_view_records_phase_changes() -> None:
    source = StaticObjects([o.pod(phase="Pending"), o.event("Scheduled", 11, "assigned")])
    view = PodLifecycleView(source, "web")
    view.refresh()
    source.objects[0] = o.pod(phase="Running")
    view.refresh()
    assert [phase for _at, phase in view.phases] == ["Pending", "Running"]
    html = view.static_html()
    assert "Pod default/web" in html and "OOMKilled" in html
    assert "phase Running seen" in html and "Scheduled" in html
    text = view.render_text(view.snapshot)
    assert "created (API server stored the Pod)" in text


@pytest.mark.unit
def test_cluster_view_groups_pods_by_node() -> None:
    source = StaticObjects([o.node("node1"), o.node("node2", ready="False"),
                            o.pod("web"), o.pod("db", node_name="node2"),
                            o.pod("new", node_name=""), o.service()])
    view = ClusterView(source)
    view.refresh()
    html = view.static_html()
    assert html.index("on node1") < html.index("default/web") < html.index("on node2")
    assert html.index("on node2") < html.index("default/db")
    assert "(not scheduled)" in html
    assert "10.96.0.10" in html and "80→8080/TCP" in html and "app=web" in html
    assert view.render_text(view.snapshot) == (
        "cluster: 2 node(s), 3 pod(s), 1 service(s)")


@pytest.mark.unit
def test_views_of_a_lab_without_kubeconfig_say_what_to_do(tmp_path: Path) -> None:
    lab = SimpleNamespace(name="x", kubeconfig=tmp_path / "admin.kubeconfig")
    for make in (lambda: NodeView.for_lab(lab), lambda: ClusterView.for_lab(lab),
                 lambda: PodLifecycleView.for_lab(lab, "web")):
        with pytest.raises(NodelabError, match="control plane is not running"):
            make()
