"""Pods on a joined lab's nodes: the nodeSelector and toleration `on_lab` adds (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from nodelab.course.placement import lab_toleration, place_manifest, place_object

pytestmark = pytest.mark.unit

TOLERATION = {"key": "nodelab.dev/lab", "operator": "Equal", "value": "true",
              "effect": "NoSchedule"}
CONTAINERS = [{"name": "c", "image": "busybox"}]


def pod_spec(obj: dict[str, Any], *path: str) -> dict[str, Any]:
    for key in path:
        obj = obj[key]
    return obj


@pytest.mark.parametrize(("obj", "path"), [
    ({"kind": "Pod", "spec": {"containers": CONTAINERS}}, ("spec",)),
    ({"kind": "Deployment", "spec": {"template": {"spec": {"containers": CONTAINERS}}}},
     ("spec", "template", "spec")),
    ({"kind": "DaemonSet", "spec": {"template": {"spec": {"containers": CONTAINERS}}}},
     ("spec", "template", "spec")),
    ({"kind": "Job", "spec": {"template": {"spec": {"containers": CONTAINERS}}}},
     ("spec", "template", "spec")),
    ({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "containers": CONTAINERS}}}}}}, ("spec", "jobTemplate", "spec", "template", "spec")),
])
def test_every_pod_spec_selects_and_tolerates_the_labs_nodes(obj: dict[str, Any],
                                                              path: tuple[str, ...]) -> None:
    before = json.dumps(obj)
    spec = pod_spec(place_object(obj, "jn"), *path)
    assert spec["nodeSelector"] == {"nodelab.dev/lab": "jn"}
    assert spec["tolerations"] == [TOLERATION] and lab_toleration() == TOLERATION
    assert spec["containers"] == CONTAINERS
    assert json.dumps(obj) == before, "the given object is not changed"


def test_selectors_and_tolerations_of_the_pod_are_kept_and_not_doubled() -> None:
    mine = {"key": "course", "operator": "Equal", "value": "only", "effect": "NoSchedule"}
    obj = {"kind": "Pod", "spec": {"nodeSelector": {"zone": "a"}, "tolerations": [mine]}}
    spec = place_object(place_object(obj, "jn"), "jn")["spec"]
    assert spec["nodeSelector"] == {"zone": "a", "nodelab.dev/lab": "jn"}
    assert spec["tolerations"] == [mine, TOLERATION]


@pytest.mark.parametrize("obj", [
    {"kind": "Service", "spec": {"ports": [{"port": 80}]}},
    {"kind": "ConfigMap", "data": {"a": "b"}},
    "not an object",
])
def test_other_objects_are_unchanged(obj: Any) -> None:
    assert place_object(obj, "jn") == obj


def test_yaml_text_with_several_documents_and_lists() -> None:
    text = "kind: Pod\nspec: {containers: []}\n---\nkind: Service\nspec: {}\n---\n"
    placed = list(yaml.safe_load_all(place_manifest(text, "jn")))
    assert [d["kind"] for d in placed] == ["Pod", "Service"]
    assert placed[0]["spec"]["nodeSelector"] == {"nodelab.dev/lab": "jn"}
    listed = place_manifest({"kind": "List", "items": [{"kind": "Pod", "spec": {}}]}, "jn")
    assert listed["items"][0]["spec"]["tolerations"] == [TOLERATION]
    assert place_manifest([{"kind": "Pod", "spec": {}}], "jn")[0]["spec"]["nodeSelector"]
