"""Optimistic concurrency, concurrent writers, and a restart that loses nothing."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.controlplane.apiserver import RunningApiServer


def _cm(name: str, **data: str) -> k8s.V1ConfigMap:
    return k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=name), data=data)


def test_stale_resource_version_is_409(core: k8s.CoreV1Api) -> None:
    created = core.create_namespaced_config_map("default", _cm("cas", v="1"))
    stale = created.metadata.resource_version
    created.data = {"v": "2"}
    core.replace_namespaced_config_map("cas", "default", created)
    created.data = {"v": "3"}
    created.metadata.resource_version = stale
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_config_map("cas", "default", created)
    assert caught.value.status == 409
    assert "the object has been modified" in caught.value.body
    assert core.read_namespaced_config_map("cas", "default").data == {"v": "2"}


def test_patch_with_stale_resource_version_is_409(core: k8s.CoreV1Api) -> None:
    created = core.create_namespaced_config_map("default", _cm("cas2", v="1"))
    core.patch_namespaced_config_map("cas2", "default", {"data": {"v": "2"}})
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_config_map("cas2", "default", {
            "metadata": {"resourceVersion": created.metadata.resource_version},
            "data": {"v": "3"}})
    assert caught.value.status == 409


def test_concurrent_writers_lose_no_update(apiserver: RunningApiServer,
                                           core: k8s.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", _cm("counter", n="0"))
    errors: list[BaseException] = []

    def bump(times: int) -> None:
        api = k8s.CoreV1Api(apiserver.client())
        try:
            for _ in range(times):
                while True:
                    current = api.read_namespaced_config_map("counter", "default")
                    current.data["n"] = str(int(current.data["n"]) + 1)
                    try:
                        api.replace_namespaced_config_map("counter", "default", current)
                        break
                    except ApiException as exc:
                        if exc.status != 409:
                            raise
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=bump, args=(15,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert core.read_namespaced_config_map("counter", "default").data["n"] == "90"


def test_concurrent_creates_get_unique_cluster_ips(apiserver: RunningApiServer) -> None:
    ips: list[str] = []
    lock = threading.Lock()

    def create(index: int) -> None:
        api = k8s.CoreV1Api(apiserver.client())
        svc = api.create_namespaced_service("default", {
            "metadata": {"name": f"conc-{index}"},
            "spec": {"type": "NodePort", "ports": [{"port": 80}]}})
        with lock:
            ips.append(f"{svc.spec.cluster_ip}/{svc.spec.ports[0].node_port}")

    threads = [threading.Thread(target=create, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(ips) == 20
    assert len({ip.split("/")[0] for ip in ips}) == 20
    assert len({ip.split("/")[1] for ip in ips}) == 20


def test_restart_finds_every_object(apiserver: RunningApiServer, core: k8s.CoreV1Api,
                                    apps: k8s.AppsV1Api) -> None:
    core.create_namespace({"metadata": {"name": "nl-keep"}})
    for i in range(10):
        core.create_namespaced_config_map("nl-keep", _cm(f"keep-{i}", i=str(i)))
    apps.create_namespaced_deployment("nl-keep", {
        "metadata": {"name": "keep"},
        "spec": {"selector": {"matchLabels": {"a": "b"}},
                 "template": {"metadata": {"labels": {"a": "b"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
    before: dict[str, Any] = {
        "cms": {c.metadata.name: c.metadata.resource_version
                for c in core.list_namespaced_config_map("nl-keep").items},
        "rv": core.list_namespaced_config_map("nl-keep").metadata.resource_version,
        "svc": {s.metadata.name: s.spec.cluster_ip
                for s in core.list_service_for_all_namespaces().items},
    }
    apiserver.restart()
    core2 = k8s.CoreV1Api(apiserver.client())
    after_cms = {c.metadata.name: c.metadata.resource_version
                 for c in core2.list_namespaced_config_map("nl-keep").items}
    assert after_cms == before["cms"]
    assert int(core2.list_namespaced_config_map("nl-keep").metadata.resource_version) >= int(
        before["rv"])
    assert {s.metadata.name: s.spec.cluster_ip
            for s in core2.list_service_for_all_namespaces().items} == before["svc"]
    deploy = k8s.AppsV1Api(apiserver.client()).read_namespaced_deployment("keep", "nl-keep")
    assert deploy.spec.replicas == 1
    created = core2.create_namespaced_config_map("nl-keep", _cm("after-restart"))
    assert int(created.metadata.resource_version) > int(before["rv"])


def test_watch_resumes_across_a_restart(apiserver: RunningApiServer,
                                        core: k8s.CoreV1Api) -> None:
    from tests.controlplane.watchclient import watch_events

    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", _cm("before-restart"))
    apiserver.restart()
    k8s.CoreV1Api(apiserver.client()).create_namespaced_config_map("default",
                                                                    _cm("after-restart-2"))
    names = []
    path = f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={start}"
    for event in watch_events(apiserver, path):
        names.append((event["type"], event["object"]["metadata"]["name"]))
        if len(names) == 2:
            break
    assert names == [("ADDED", "before-restart"), ("ADDED", "after-restart-2")]
