"""Live updates observed in a real Jupyter kernel driven by nbclient.

A notebook shows a `NetworkView` of a lab node; between cells the test changes the kernel's
network from outside (as a CNI plugin would), and the next cell waits for the view's poller
thread to pick it up. The widget's state as the front end would receive it (the comm messages
nbclient records into the notebook's widget-state metadata) must carry the new pod too, and the
displayed output must hold the static HTML form next to the widget view.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from nodelab.lab.lab import Lab
from tests.widgets.conftest import PodMaker, needs_root

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

REPO = Path(__file__).resolve().parents[2]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def cell(source: str) -> Any:
    return nbformat.v4.new_code_cell(source)  # type: ignore[no-untyped-call]


@pytest.mark.privileged
@needs_root
def test_network_view_updates_live_in_a_kernel(lab: Lab, pod_in_node: PodMaker) -> None:
    node = lab.topology.nodes[0]
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.cells = [
        cell("from nodelab.lab.lab import Lab\n"
             "from nodelab.widgets.network_view import NetworkView\n"
             f"lab = Lab.get({lab.name!r})\n"
             "view = NetworkView.for_node(lab, 'node1', interval=0.2)\n"
             "view"),
        cell("import time\n"
             "deadline = time.monotonic() + 20\n"
             "while 'pod1' not in view.body.value and time.monotonic() < deadline:\n"
             "    time.sleep(0.1)\n"
             "print('seen' if 'pod1' in view.body.value else 'missed', view.updates,\n"
             "      view.running, view.body.model_id)"),
        cell("lab.down(progress=lambda _m: None)\n"
             "deadline = time.monotonic() + 20\n"
             "while view.running and time.monotonic() < deadline:\n"
             "    time.sleep(0.1)\n"
             "print('running' if view.running else 'stopped')"),
    ]
    client = NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True)
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        pod = pod_in_node(f"nl{lab.name}", node.netns, 1)
        client.execute_cell(nb.cells[1], 1)
        client.set_widgets_metadata()
        state = json.loads(json.dumps(nb.metadata["widgets"][WIDGET_STATE]["state"]))
        client.execute_cell(nb.cells[2], 2)

    shown = nb.cells[0].outputs[0]["data"]
    assert WIDGET_VIEW in shown, "the view was not displayed as a widget"
    assert "<svg" in shown["text/html"] and node.netns in shown["text/html"]
    assert pod.netns not in shown["text/html"], "the static form is the state at display time"

    seen, updates, running, body_id = nb.cells[1].outputs[0]["text"].split()
    assert seen == "seen" and int(updates) >= 2 and running == "True"
    assert nb.cells[2].outputs[0]["text"].strip() == "stopped"

    assert pod.netns in json.dumps(state[body_id]["state"]["value"]), (
        "the live update did not reach the widget state the front end receives")


KUBE_VIEWS = """
from nodelab.widgets import ClusterView, NodeView, PodLifecycleView, ProbeView, StaticObjects
from tests.widgets import objects as o
source = StaticObjects([o.node(), o.lease(renewed=280), o.probed_pod(ready=True),
                        o.unhealthy(1)])
views = {"node": NodeView(source, "node1", interval=0.2),
         "pod": PodLifecycleView(source, "web", interval=0.2),
         "probe": ProbeView(source, "web", interval=0.2),
         "cluster": ClusterView(source, interval=0.2)}
for view in views.values():
    display(view)
"""

CHANGE = """
source.objects[1] = o.lease(renewed=290)
source.objects[2] = o.probed_pod(ready=False, restarts=1)
source.objects[3] = o.unhealthy(3)
source.objects.append(o.pod("db", node_name="node1"))
"""

WAIT = """
import time
expected = {"node": "2 renewals seen", "pod": ">not ready<", "probe": ">restart</text>",
            "cluster": "default/db"}
deadline = time.monotonic() + 20
while time.monotonic() < deadline and not all(
        expected[k] in views[k].body.value for k in views):
    time.sleep(0.1)
for name, view in views.items():
    print(name, expected[name] in view.body.value, view.body.model_id)
for view in views.values():
    view.stop()
"""


def test_kubernetes_views_update_live_in_a_kernel() -> None:
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.cells = [cell(KUBE_VIEWS), cell(CHANGE), cell(WAIT)]
    client = NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(REPO)}})
    client.execute()

    for output in nb.cells[0].outputs:
        assert WIDGET_VIEW in output["data"] and "text/html" in output["data"]
    state = nb.metadata["widgets"][WIDGET_STATE]["state"]
    lines = [line.split() for line in nb.cells[2].outputs[0]["text"].splitlines()]
    assert [(name, seen) for name, seen, _id in lines] == [
        ("node", "True"), ("pod", "True"), ("probe", "True"), ("cluster", "True")]
    for _name, _seen, model_id in lines:
        assert model_id in state, "the poller's updates did not reach the front end's state"
    assert "default/db" in state[lines[3][2]]["state"]["value"]
    assert "2 renewals seen" in state[lines[0][2]]["state"]["value"]
