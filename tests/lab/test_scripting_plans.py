"""The scripting face's pure parts: manifests as `Lab.apply` reads them, and `Lab.wait_for`'s
conditions; without a lab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nodelab.errors import NodelabError
from nodelab.lab.scripting.manifests import load_manifests
from nodelab.lab.scripting.wait_for import last_seen, parse_condition

pytestmark = pytest.mark.unit
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
TWO = """
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
---
apiVersion: v1
kind: Pod
metadata: {name: p}
"""


def test_a_dict_text_or_file_gives_the_objects_in_order(tmp_path: Path) -> None:
    assert load_manifests(POD) == [POD]
    assert [o["kind"] for o in load_manifests(TWO)] == ["ConfigMap", "Pod"]
    path = tmp_path / "two.yaml"
    path.write_text(TWO)
    assert [o["metadata"]["name"] for o in load_manifests(path)] == ["a", "p"]
    assert [o["metadata"]["name"] for o in load_manifests(str(path))] == ["a", "p"]
    listed = {"apiVersion": "v1", "kind": "List", "items": [POD, POD]}
    assert load_manifests(listed) == [POD, POD]


@pytest.mark.parametrize(("manifest", "message"), [
    ("kind: Pod\nmetadata: {name: p}", "object 1 of the manifest text has no apiVersion"),
    ({"apiVersion": "v1", "kind": "Pod"}, "has no metadata.name"),
    ("- a\n- b", "document 1 of the manifest text is not an object"),
    ("a: [", "the manifest text is not valid YAML"),
    ("---\n", "holds no objects"),
    (Path("/nonexistent/pod.yaml"), "cannot read the manifest /nonexistent/pod.yaml"),
])
def test_what_is_not_a_kubernetes_object_is_refused(manifest: Any, message: str) -> None:
    with pytest.raises(NodelabError, match=message):
        load_manifests(manifest)


def _with(phase: str = "Running", **conditions: str) -> dict[str, Any]:
    return {"status": {"phase": phase, "conditions": [
        {"type": k, "status": v} for k, v in conditions.items()]}}


@pytest.mark.parametrize(("condition", "obj", "met"), [
    ("Ready", _with(Ready="True"), True),
    ("Ready", _with(Ready="False"), False),
    ("condition=Ready", _with(Ready="True"), True),
    ("condition=Ready=False", _with(Ready="False"), True),
    ("condition=Available", _with(Ready="True"), False),
    ("jsonpath={.status.phase}=Succeeded", _with("Succeeded"), True),
    ("jsonpath={.status.phase}=Succeeded", _with("Running"), False),
    ("delete", None, True),
    ("delete", _with(), False),
    ("Ready", None, False),
    (lambda o: o["status"]["phase"] == "Running", _with(), True),
])
def test_conditions_as_kubectl_wait(condition: Any, obj: dict[str, Any] | None,
                                    met: bool) -> None:
    assert parse_condition(condition).met(obj) is met


@pytest.mark.parametrize("condition", ["jsonpath={.items[0].x}=1", "jsonpath=.status", "a b"])
def test_conditions_it_cannot_check_are_refused(condition: str) -> None:
    with pytest.raises(NodelabError, match="wait condition"):
        parse_condition(condition)


def test_a_timeout_says_what_was_last_seen() -> None:
    assert last_seen(_with(Ready="False")) == "phase Running, conditions Ready=False"
    assert last_seen({}) == "no status yet"


def test_a_lab_names_its_nodes_and_their_daemons_in_errors(tmp_path: Path) -> None:
    import ipaddress

    from nodelab.lab.description import LabDescription
    from nodelab.lab.lab import Lab

    lab = Lab(LabDescription("k", ipaddress.IPv4Network("172.29.9.0/24"), 2), base=tmp_path)
    assert [n.name for n in lab.nodes()] == ["node1", "node2"]
    assert lab.node("node2").ip == "172.29.9.12"
    with pytest.raises(NodelabError, match="lab k has no node 'node3': its nodes are node1, "
                                           "node2"):
        lab.node("node3")
    node = lab.node("node1")
    node.paths.logs.mkdir(parents=True)
    node.paths.log("node1/kubelet").write_text("one\ntwo\nthree\n")
    node.paths.log("node2/proxy").write_text("not node1's\n")
    assert node.daemons() == ["kubelet"]
    assert node.logs("kubelet", tail=2) == "two\nthree\n"
    with pytest.raises(NodelabError, match="node1 has no daemon 'proxy': choose one of kubelet"):
        node.logs("proxy")
    with pytest.raises(NodelabError, match="node1 has no CRI socket"):
        node.cri()
    with pytest.raises(NodelabError, match="lab k has no kubeconfig"):
        lab.api()
