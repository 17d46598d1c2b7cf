"""ProbeView from pod objects and events shaped as the kubelet reports probes to the API."""

from __future__ import annotations

import pytest

from nodelab.widgets.kube_objects import StaticObjects
from nodelab.widgets.probe_view import ProbeResult, ProbeView
from tests.widgets import objects as o

pytestmark = pytest.mark.unit


def test_probe_failures_readiness_and_restarts_are_recorded_and_drawn() -> None:
    source = StaticObjects([o.probed_pod(ready=True), o.unhealthy(1)])
    results = [ProbeResult("app", "liveness", 0.0, True)]
    view = ProbeView(source, "web", results=lambda: results)
    view.refresh()
    html = view.static_html()
    assert "GET http://:8080/healthz" in html and "exec cat /tmp/ready" in html
    assert "<svg" in html

    source.objects[1] = o.unhealthy(3)
    source.objects[0] = o.probed_pod(ready=False)
    view.refresh()
    source.objects[0] = o.probed_pod(ready=True, restarts=1)
    view.refresh()

    assert [(who, kind) for _t, who, kind in view.failures] == [("app", "liveness")] * 2
    assert [ready for _t, ready in view.ready["app"]] == [True, False, True]
    assert [n for _t, n in view.restarts["app"]] == [0, 1]
    html = view.static_html()
    assert html.count(">restart</text>") == 1
    assert html.count(">liveness ✗</text>") == 2
    assert "restarts=1" in html
    assert view.render_text(view.snapshot) == "probes of default/web:\n  app: ready=True restarts=1"  # noqa: E501


def test_a_container_without_probes_says_so() -> None:
    view = ProbeView(StaticObjects([o.pod()]), "web")
    assert "no probes" in view.static_html()
