"""The patch formats and selectors as pure functions."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.errors import ApiError
from nodelab.controlplane.registry import strategicpatch
from nodelab.controlplane.registry.patches import json_patch, merge_patch
from nodelab.controlplane.storage.selectors import field_value, matcher, parse_fields, parse_labels
from nodelab.kube import schema

pytestmark = pytest.mark.unit

POD: dict[str, Any] = {"metadata": {"name": "p", "labels": {"app": "a"}, "finalizers": ["x"]},
       "spec": {"containers": [
           {"name": "a", "image": "one", "ports": [{"containerPort": 80}],
            "env": [{"name": "A", "value": "1"}]},
           {"name": "b", "image": "two"}]}}


def strategic_merge_patch(doc: Any, patch: Any) -> Any:
    kind = doc.get("kind", "Pod")
    group, version = {"EndpointSlice": ("discovery.k8s.io", "v1")}.get(kind, ("", "v1"))
    return strategicpatch.apply(doc, patch, schema.for_kind(group, version, kind))


def test_strategic_merge_merges_containers_by_name() -> None:
    patched = strategic_merge_patch(POD, {"spec": {"containers": [
        {"name": "b", "image": "three"}, {"name": "c", "image": "new"}]}})
    assert [(c["name"], c["image"]) for c in patched["spec"]["containers"]] == [
        ("a", "one"), ("b", "three"), ("c", "new")]
    assert POD["spec"]["containers"][1]["image"] == "two", "input untouched"


def test_strategic_merge_directives() -> None:
    patched = strategic_merge_patch(POD, {
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["x"], "labels": {"app": None}},
        "spec": {"containers": [{"name": "a", "$patch": "delete"}]}})
    assert patched["metadata"]["finalizers"] == []
    assert patched["metadata"]["labels"] == {}
    assert [c["name"] for c in patched["spec"]["containers"]] == ["b"]
    ordered = strategic_merge_patch(POD, {"spec": {
        "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
        "containers": [{"name": "a", "image": "x"}]}})
    assert [c["name"] for c in ordered["spec"]["containers"]] == ["b", "a"]
    replaced = strategic_merge_patch(POD, {"spec": {"containers": [
        {"name": "z", "image": "z"}, {"$patch": "replace"}]}})
    assert [c["name"] for c in replaced["spec"]["containers"]] == ["z"]


def test_strategic_merge_ports_and_env_by_key() -> None:
    patched = strategic_merge_patch(POD, {"spec": {"containers": [{"name": "a",
        "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 81}],
        "env": [{"name": "B", "value": "2"}]}]}})
    first = patched["spec"]["containers"][0]
    assert first["ports"] == [{"containerPort": 80, "name": "http"}, {"containerPort": 81}]
    assert [e["name"] for e in first["env"]] == ["A", "B"]


def test_merge_patch_replaces_lists_and_deletes_nulls() -> None:
    patched = merge_patch(POD, {"metadata": {"labels": {"app": None, "b": "c"}},
                                "spec": {"containers": [{"name": "only"}]}})
    assert patched["metadata"]["labels"] == {"b": "c"}
    assert patched["spec"]["containers"] == [{"name": "only"}]


def test_json_patch_operations() -> None:
    patched = json_patch(POD, [
        {"op": "add", "path": "/metadata/labels/tier", "value": "x"},
        {"op": "replace", "path": "/spec/containers/0/image", "value": "img"},
        {"op": "remove", "path": "/spec/containers/1"},
        {"op": "test", "path": "/metadata/name", "value": "p"},
        {"op": "copy", "from": "/metadata/name", "path": "/metadata/generateName"},
        {"op": "add", "path": "/metadata/finalizers/-", "value": "y"}])
    assert patched["metadata"]["labels"] == {"app": "a", "tier": "x"}
    assert [c["image"] for c in patched["spec"]["containers"]] == ["img"]
    assert patched["metadata"]["generateName"] == "p"
    assert patched["metadata"]["finalizers"] == ["x", "y"]
    with pytest.raises(ApiError):
        json_patch(POD, [{"op": "test", "path": "/metadata/name", "value": "q"}])
    with pytest.raises(ApiError) as caught:
        json_patch(POD, [{"op": "remove", "path": "/spec/nothing"}])
    assert caught.value.code == 422
    with pytest.raises(ApiError) as caught:
        json_patch(POD, [{"op": "frobnicate", "path": "/spec"}])
    assert caught.value.code == 400


def test_taints_are_atomic_so_kubectl_taint_removes_one() -> None:
    """`kubectl taint node n a:NoSchedule-` sends the remaining taints: upstream's NodeSpec
    taints are `x-kubernetes-list-type: atomic` with no patch strategy, so they replace."""
    node = {"kind": "Node", "spec": {"taints": [{"key": "a", "effect": "NoSchedule"},
                                                {"key": "b", "effect": "NoSchedule"}]}}
    patched = strategic_merge_patch(node, {"spec": {"taints": [
        {"key": "b", "effect": "NoSchedule"}]}})
    assert patched["spec"]["taints"] == [{"key": "b", "effect": "NoSchedule"}]


def test_volumes_retain_keys() -> None:
    """Volumes are `merge,retainKeys`: `$retainKeys` drops the other volume source."""
    pod = {"kind": "Pod", "spec": {"volumes": [{"name": "v", "emptyDir": {}}]}}
    patched = strategic_merge_patch(pod, {"spec": {"volumes": [
        {"name": "v", "$retainKeys": ["configMap", "name"], "configMap": {"name": "c"}}]}})
    assert patched["spec"]["volumes"] == [{"name": "v", "configMap": {"name": "c"}}]


def test_container_statuses_are_atomic() -> None:
    """Upstream's PodStatus.containerStatuses is atomic: a patch replaces the list."""
    pod = {"kind": "Pod", "status": {"containerStatuses": [
        {"name": "a", "state": {"waiting": {"reason": "x"}}}, {"name": "b"}]}}
    patched = strategic_merge_patch(pod, {"status": {"containerStatuses": [
        {"name": "a", "state": {"running": {"startedAt": "t"}}}]}})
    assert patched["status"]["containerStatuses"] == [
        {"name": "a", "state": {"running": {"startedAt": "t"}}}]


def test_label_selectors() -> None:
    obj = {"metadata": {"labels": {"app": "web", "tier": "front", "n": "5"}}}
    cases = {"app=web": True, "app==web": True, "app!=web": False, "app in (web,db)": True,
             "app notin (web)": False, "tier": True, "!tier": False, "missing": False,
             "!missing": True, "app=web,tier=back": False, "n>3": True, "n<3": False,
             "app in (web), tier notin (back)": True}
    for text, expected in cases.items():
        assert matcher(parse_labels(text), [])(obj) is expected, text
    with pytest.raises(ApiError):
        parse_labels("app=web,,=")


def test_field_selectors() -> None:
    pod = {"metadata": {"name": "p", "namespace": "d"},
           "spec": {"nodeName": "n1", "hostNetwork": True}, "status": {"phase": "Running"}}
    fields = parse_fields("spec.nodeName=n1,status.phase!=Failed", "core/pods")
    assert matcher([], fields)(pod)
    assert field_value(pod, "spec.hostNetwork") == "true"
    assert not matcher([], parse_fields("spec.nodeName=", "core/pods"))(pod)
    with pytest.raises(ApiError) as caught:
        parse_fields("spec.image=x", "core/pods")
    assert caught.value.code == 400


def test_endpointslice_lists_are_atomic() -> None:
    slice_ = {"kind": "EndpointSlice", "ports": [{"port": 80, "name": "a"}],
              "endpoints": [{"addresses": ["10.0.0.1"]}]}
    patched = strategic_merge_patch(slice_, {"ports": [{"port": 81, "name": "b"}],
                                             "endpoints": [{"addresses": ["10.0.0.2"]}]})
    assert patched["ports"] == [{"port": 81, "name": "b"}]
    assert patched["endpoints"] == [{"addresses": ["10.0.0.2"]}]


def test_set_element_order_on_a_list_of_objects_without_merge_key_panics_as_upstream() -> None:
    """Tolerations have no merge key: upstream compares (and hashes) the objects with Go's
    `==`, which panics; its panic filter answers a plain-text 500."""
    pod = {**POD, "spec": {**POD["spec"], "tolerations": [{"key": "a"}]}}
    for patch in ({"$setElementOrder/tolerations": [{"key": "a"}], "tolerations": [{"key": "a"}]},
                  {"$setElementOrder/tolerations": [{"key": "a"}]}):
        with pytest.raises(ApiError) as raised:
            strategic_merge_patch(pod, {"spec": patch})
        assert (raised.value.code, raised.value.message) == (
            500, "This request caused apiserver to panic. Look in the logs for details.")
    # scalars without a merge key compare fine: the patch's list replaces the live one
    patched = strategic_merge_patch(POD, {"spec": {"containers": [
        {"name": "a", "$setElementOrder/args": ["x", "y"], "args": ["y"]}]}})
    assert patched["spec"]["containers"][0]["args"] == ["y"]


def test_strategic_merge_errors_print_values_as_go_does() -> None:
    """`%v` of the lists and maps, and a Status of code 500 without a reason (the plain Go
    error `interpretStrategicMergePatchError` passes on)."""
    with pytest.raises(ApiError) as raised:
        strategic_merge_patch(POD, {"spec": {"containers": [
            {"name": "a", "$setElementOrder/args": ["x", "y"], "args": ["y", "x"]}]}})
    assert raised.value.message == ("The order in patch list:\n[y x]\n doesn't match "
                                    "$setElementOrder list:\n[x y]\n")
    assert raised.value.status() == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                     "status": "Failure", "message": raised.value.message,
                                     "code": 500}
    with pytest.raises(ApiError) as raised:
        strategic_merge_patch(POD, {"spec": {"containers": [{"image": "x", "b": [1, 2.5]}]}})
    assert raised.value.message == ("map: map[b:[1 2.5] image:x] does not contain declared "
                                    "merge key: name")
