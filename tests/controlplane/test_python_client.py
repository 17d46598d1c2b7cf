"""The official Python client: CRUD, paging, selectors, subresources, owners."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from tests.controlplane.apiserver import RunningApiServer


def _pod(name: str, node: str = "", **labels: str) -> dict[str, object]:
    spec: dict[str, object] = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "labels": labels}, "spec": spec}


def test_paging_with_limit_and_continue(core: k8s.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "nl-page"}})
    for i in range(7):
        core.create_namespaced_config_map("nl-page", {"metadata": {"name": f"cm-{i}"}})
    names, token, pages = [], None, 0
    while True:
        page = core.list_namespaced_config_map("nl-page", limit=3, _continue=token)
        pages += 1
        names += [c.metadata.name for c in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert pages == 3
    assert [n for n in names if n.startswith("cm-")] == [f"cm-{i}" for i in range(7)]


def test_label_and_field_selectors(core: k8s.CoreV1Api) -> None:
    core.create_namespaced_pod("default", _pod("sel-1", node="n-a", app="x"))
    core.create_namespaced_pod("default", _pod("sel-2", node="n-b", app="x"))
    core.create_namespaced_pod("default", _pod("sel-3", app="y"))
    by_label = core.list_namespaced_pod("default", label_selector="app=x")
    assert sorted(p.metadata.name for p in by_label.items) == ["sel-1", "sel-2"]
    by_node = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=n-a")
    assert [p.metadata.name for p in by_node.items] == ["sel-1"]
    unscheduled = core.list_namespaced_pod("default", field_selector="spec.nodeName=",
                                           label_selector="app in (x,y)")
    assert [p.metadata.name for p in unscheduled.items] == ["sel-3"]
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_pod("default", field_selector="spec.bogus=1")
    assert caught.value.status == 400


def test_binding_status_and_eviction(core: k8s.CoreV1Api) -> None:
    core.create_namespaced_pod("default", _pod("bind-me"))
    core.create_namespaced_binding("default", {
        "metadata": {"name": "bind-me"}, "target": {"kind": "Node", "name": "n-a"}},
        _preload_content=False)
    pod = core.read_namespaced_pod("bind-me", "default")
    assert pod.spec.node_name == "n-a"
    assert any(c.type == "PodScheduled" and c.status == "True" for c in pod.status.conditions)
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_pod_binding("bind-me", "default", {
            "metadata": {"name": "bind-me"}, "target": {"kind": "Node", "name": "n-b"}})
    assert caught.value.status == 409
    core.patch_namespaced_pod_status("bind-me", "default", {"status": {
        "phase": "Running", "podIP": "10.244.0.5"}})
    core.patch_namespaced_pod("bind-me", "default", {"status": {"phase": "Failed"}})
    assert core.read_namespaced_pod("bind-me", "default").status.phase == "Running", \
        "the main resource does not write status"
    core.create_namespaced_pod_eviction("bind-me", "default", {
        "metadata": {"name": "bind-me"}, "deleteOptions": {"gracePeriodSeconds": 0}})
    with pytest.raises(ApiException):
        core.read_namespaced_pod("bind-me", "default")


def test_scale_subresource(apps: k8s.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", {
        "metadata": {"name": "scaled"},
        "spec": {"selector": {"matchLabels": {"s": "1"}},
                 "template": {"metadata": {"labels": {"s": "1"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
    scale = apps.read_namespaced_deployment_scale("scaled", "default")
    assert scale.spec.replicas == 1 and scale.status.selector == "s=1"
    apps.patch_namespaced_deployment_scale("scaled", "default", {"spec": {"replicas": 4}})
    assert apps.read_namespaced_deployment("scaled", "default").spec.replicas == 4
    deploy = apps.read_namespaced_deployment("scaled", "default")
    assert deploy.metadata.generation == 2


def test_owner_references_cascade(core: k8s.CoreV1Api, apps: k8s.AppsV1Api) -> None:
    rs = apps.create_namespaced_replica_set("default", {
        "metadata": {"name": "owner"},
        "spec": {"selector": {"matchLabels": {"o": "1"}},
                 "template": {"metadata": {"labels": {"o": "1"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "owner",
           "uid": rs.metadata.uid, "controller": True}
    for name in ("owned-1", "owned-2"):
        body = _pod(name, o="1")
        body["metadata"]["ownerReferences"] = [ref]  # type: ignore[index]
        core.create_namespaced_pod("default", body)
    apps.delete_namespaced_replica_set("owner", "default", propagation_policy="Background")
    left = core.list_namespaced_pod("default", label_selector="o=1").items
    assert left == []


def test_delete_collection(core: k8s.CoreV1Api) -> None:
    for i in range(3):
        core.create_namespaced_config_map("default", {
            "metadata": {"name": f"dc-{i}", "labels": {"dc": "yes"}}})
    core.delete_collection_namespaced_config_map("default", label_selector="dc=yes")
    assert core.list_namespaced_config_map("default", label_selector="dc=yes").items == []


def test_leases_endpointslices_and_events_v1(apiserver: RunningApiServer) -> None:
    api = apiserver.client()
    coord = k8s.CoordinationV1Api(api)
    lease = coord.create_namespaced_lease("kube-node-lease", {
        "metadata": {"name": "n-a"}, "spec": {"holderIdentity": "n-a",
                                              "leaseDurationSeconds": 40,
                                              "renewTime": "2026-01-01T00:00:00.000000Z"}})
    assert lease.spec.holder_identity == "n-a"
    discovery = k8s.DiscoveryV1Api(api)
    discovery.create_namespaced_endpoint_slice("default", {
        "metadata": {"name": "web-abc", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4", "ports": [{"name": "http", "port": 8080}],
        "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": True},
                       "nodeName": "n-a"}]})
    found = discovery.list_namespaced_endpoint_slice(
        "default", label_selector="kubernetes.io/service-name=web")
    assert found.items[0].ports[0].protocol == "TCP"
    events = k8s.EventsV1Api(api)
    events.create_namespaced_event("default", {
        "metadata": {"name": "ev-new"}, "eventTime": "2026-01-01T00:00:00.000000Z",
        "reportingController": "nodelab/test", "reportingInstance": "t", "action": "Test",
        "reason": "Tested", "type": "Normal", "note": "via events.k8s.io",
        "regarding": {"kind": "Pod", "name": "x", "namespace": "default"}})
    core_event = k8s.CoreV1Api(api).read_namespaced_event("ev-new", "default")
    assert core_event.message == "via events.k8s.io"
    assert core_event.involved_object.name == "x"


def test_python_client_watch(core: k8s.CoreV1Api) -> None:
    listed = core.list_namespaced_config_map("default")
    core.create_namespaced_config_map("default", {"metadata": {"name": "watched"}})
    stream = watch.Watch().stream(core.list_namespaced_config_map, "default",  # type: ignore[no-untyped-call]
                                  resource_version=listed.metadata.resource_version,
                                  timeout_seconds=5)
    for event in stream:
        assert event["type"] == "ADDED"
        assert event["object"].metadata.name == "watched"
        break


def test_percent_escapes_in_the_path_are_decoded(apiserver: RunningApiServer) -> None:
    """The client escapes a name's `:` as %3A; kube-apiserver routes on the decoded path (Go's
    URL.Path), so an escaped slash separates segments: `nl/escaped` is a subresource of `nl`
    that no ClusterRole has, a 404, never the object `nl`."""
    rbac = k8s.RbacAuthorizationV1Api(apiserver.client())
    for name in ("nl:escaped", "nl"):
        rbac.create_cluster_role({"metadata": {"name": name}, "rules": []})
    assert rbac.read_cluster_role("nl:escaped").metadata.name == "nl:escaped"
    with pytest.raises(ApiException) as caught:
        rbac.read_cluster_role("nl/escaped")
    assert caught.value.status == 404
