"""Field sets as server-side apply sees them, from upstream's schema."""

from __future__ import annotations

import pytest

from nodelab.controlplane.errors import ApiError
from nodelab.controlplane.registry import fieldpaths, managedfields, server_side_apply
from nodelab.kube import schema

pytestmark = pytest.mark.unit

POD = schema.for_kind("", "v1", "Pod")
DEPLOYMENT = schema.for_kind("apps", "v1", "Deployment")


def test_granularity_follows_the_schema() -> None:
    assert POD is not None
    pod = {"metadata": {"labels": {"a": "1"}, "finalizers": ["x"]},
           "spec": {"containers": [{"name": "c", "image": "i", "args": ["a", "b"]}],
                    "tolerations": [{"key": "k"}],
                    "nodeSelector": {}}}
    assert fieldpaths.field_set(pod, POD) == {
        ("f:metadata", "f:labels", "f:a"),
        ("f:metadata", "f:finalizers", 'v:"x"'),
        ("f:spec", "f:containers", 'k:{"name":"c"}'),
        ("f:spec", "f:containers", 'k:{"name":"c"}', "f:name"),
        ("f:spec", "f:containers", 'k:{"name":"c"}', "f:image"),
        ("f:spec", "f:containers", 'k:{"name":"c"}', "f:args"),  # atomic list
        ("f:spec", "f:tolerations"),  # atomic list
        ("f:spec", "f:nodeSelector"),  # an empty map is a field itself
    }
    assert DEPLOYMENT is not None
    selector = {"spec": {"selector": {"matchLabels": {"app": "x"}}}}
    assert fieldpaths.field_set(selector, DEPLOYMENT) == {("f:spec", "f:selector")}  # atomic


def test_fields_v1_round_trip_with_item_markers() -> None:
    paths = {("f:spec", "f:containers", 'k:{"name":"c"}'),
             ("f:spec", "f:containers", 'k:{"name":"c"}', "f:image")}
    tree = fieldpaths.to_fields_v1(paths)
    assert tree == {"f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}}}}}
    assert fieldpaths.from_fields_v1(tree) == paths
    assert fieldpaths.describe(("f:spec", "f:containers", 'k:{"name":"c"}', "f:image")) == (
        '.spec.containers[name="c"].image')


def _pod(image: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": image}]}}


def test_apply_after_an_update_of_the_same_values_shares_the_container() -> None:
    assert POD is not None
    live = _pod("a")
    live["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"  # type: ignore[index]
    managedfields.record_update(None, live, "kubectl-client-side-apply", POD)
    merged = server_side_apply.merge(live, _pod("a"), {"fieldManager": "kubectl"}, POD)
    owners = {e["manager"]: fieldpaths.from_fields_v1(e["fieldsV1"])
              for e in merged["metadata"]["managedFields"]}
    image = ("f:spec", "f:containers", 'k:{"name":"c"}', "f:image")
    assert image in owners["kubectl"] and image in owners["kubectl-client-side-apply"]
    with pytest.raises(ApiError) as caught:
        server_side_apply.merge(live, _pod("b"), {"fieldManager": "kubectl"}, POD)
    assert caught.value.code == 409
    assert 'conflict with "kubectl-client-side-apply" using v1: .spec.containers[name="c"]' \
        '.image' in caught.value.message


def test_apply_removes_an_item_it_no_longer_applies() -> None:
    assert POD is not None
    two = _pod("a")
    two["spec"]["containers"].append({"name": "d", "image": "x"})  # type: ignore[index]
    live = server_side_apply.merge({"apiVersion": "v1", "kind": "Pod", "metadata": {}}, two,
                                   {"fieldManager": "m"}, POD)
    one = server_side_apply.merge(live, _pod("a"), {"fieldManager": "m"}, POD)
    assert [c["name"] for c in one["spec"]["containers"]] == ["c"]
