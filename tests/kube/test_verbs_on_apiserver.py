"""The verbs of both clients (nodelab's small one and the official one behind `client_for`)
against a real API server process: the same requests, the same answers, the same errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nodelab.kube.restclient import ApiAccess, OfficialClient, RestClient, RestError
from nodelab.kube.verbs import JSON_PATCH, STRATEGIC_PATCH
from tests.controlplane.apiserver import RunningApiServer, running_apiserver


@pytest.fixture(scope="module")
def apiserver() -> Iterator[RunningApiServer]:
    with running_apiserver() as server:
        yield server


@pytest.fixture(params=["small", "official"])
def api(request: pytest.FixtureRequest, apiserver: RunningApiServer) -> ApiAccess:
    if request.param == "small":
        return RestClient.from_kubeconfig(apiserver.kubeconfig)
    return OfficialClient(apiserver.kubeconfig)


def _configmap(name: str, **data: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"verbs": "yes"}}, "data": data}


def test_create_get_list_replace_delete(api: ApiAccess) -> None:
    name = f"cm-{type(api).__name__.lower()}"
    created = api.create("configmaps", "default", _configmap(name, a="1"))
    assert created["metadata"]["name"] == name and created["data"] == {"a": "1"}
    assert api.get("configmaps", "default", name)["metadata"]["uid"] == \
        created["metadata"]["uid"]
    listed = api.list("configmaps", "default", label_selector="verbs=yes")
    assert name in [c["metadata"]["name"] for c in listed["items"]]
    assert api.list("configmaps", field_selector=f"metadata.name={name}")["items"][0][
        "metadata"]["namespace"] == "default"  # every namespace, one match
    current = api.get("configmaps", "default", name)
    current["data"] = {"b": "2"}
    assert api.replace("configmaps", "default", name, current)["data"] == {"b": "2"}
    assert api.delete("configmaps", "default", name) is not None
    assert api.delete("configmaps", "default", name) is None  # gone already: 404 is None


def test_patch_formats_reach_the_server_as_named(api: ApiAccess) -> None:
    name = f"patched-{type(api).__name__.lower()}"
    api.create("configmaps", "default", _configmap(name, a="1"))
    merged = api.patch("configmaps", "default", name, {"data": {"b": "2"}})
    assert merged["data"] == {"a": "1", "b": "2"}
    strategic = api.patch("configmaps", "default", name, {"data": {"a": None}},
                          content_type=STRATEGIC_PATCH)
    assert strategic["data"] == {"b": "2"}
    operations = [{"op": "test", "path": "/data/b", "value": "2"},
                  {"op": "replace", "path": "/data/b", "value": "3"}]
    assert api.patch("configmaps", "default", name, operations,
                     content_type=JSON_PATCH)["data"] == {"b": "3"}
    api.delete("configmaps", "default", name)


def test_a_status_subresource_patch_leaves_the_spec(api: ApiAccess) -> None:
    name = f"node-{type(api).__name__.lower()}"
    api.create("nodes", None, {"apiVersion": "v1", "kind": "Node",
                               "metadata": {"name": name}, "spec": {"unschedulable": True}})
    patched = api.patch("nodes", None, name,
                        {"status": {"conditions": [{"type": "Ready", "status": "True"}]},
                         "spec": {"unschedulable": False}},
                        subresource="status", content_type=STRATEGIC_PATCH)
    assert [c["type"] for c in patched["status"]["conditions"]] == ["Ready"]
    assert patched["spec"]["unschedulable"] is True  # /status writes the status only
    api.delete("nodes", None, name)


def test_errors_carry_the_status_whichever_client(api: ApiAccess) -> None:
    with pytest.raises(RestError) as missing:
        api.get("configmaps", "default", "no-such-map")
    assert missing.value.status == 404 and "not found" in missing.value.body
    name = f"twice-{type(api).__name__.lower()}"
    api.create("configmaps", "default", _configmap(name))
    with pytest.raises(RestError) as twice:
        api.create("configmaps", "default", _configmap(name))
    assert twice.value.status == 409
    with pytest.raises(RestError) as invalid:
        api.create("configmaps", "default", _configmap("Not_A_Name"))
    assert invalid.value.status == 422 and "Not_A_Name" in invalid.value.body
    api.delete("configmaps", "default", name)


def test_a_review_is_posted_with_its_own_timeout(api: ApiAccess) -> None:
    answer = api.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                         {"apiVersion": "authorization.k8s.io/v1",
                          "kind": "SelfSubjectAccessReview",
                          "spec": {"resourceAttributes": {"verb": "list",
                                                          "resource": "pods"}}},
                         timeout=10)
    assert answer["status"]["allowed"] is True
