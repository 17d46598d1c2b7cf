"""The kubelet's configMap and secret managers (object_watch.py): which objects a pod makes it
watch, and the watches themselves against a real API server, as the node's identity (the Node
authorizer must allow exactly these one-object watches)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from nodelab.kube.restclient import RestClient
from nodelab.kubelet.pods.object_watch import ObjectWatchError, ObjectWatches, watched_objects
from tests.controlplane.apiserver import RunningApiServer, running_apiserver

NODE = "nl-watch-node"


@pytest.mark.unit
def test_a_pod_watches_each_configmap_and_secret_it_refers_to() -> None:
    pod = {"metadata": {"namespace": "team", "uid": "u1"}, "spec": {
        "imagePullSecrets": [{"name": "pull"}],
        "volumes": [{"name": "a", "configMap": {"name": "cm-vol"}},
                    {"name": "b", "secret": {"secretName": "s-vol"}},
                    {"name": "c", "projected": {"sources": [
                        {"configMap": {"name": "kube-root-ca.crt"}},
                        {"secret": {"name": "s-proj"}}, {"serviceAccountToken": {}}]}},
                    {"name": "d", "emptyDir": {}}],
        "initContainers": [{"name": "i", "envFrom": [{"configMapRef": {"name": "cm-init"}}]}],
        "containers": [{"name": "c", "env": [
            {"name": "X", "valueFrom": {"secretKeyRef": {"name": "s-env", "key": "k"}}},
            {"name": "Y", "value": "plain"}]}]}}
    assert watched_objects(pod) == {
        ("configmaps", "team", "cm-vol"), ("configmaps", "team", "kube-root-ca.crt"),
        ("configmaps", "team", "cm-init"), ("secrets", "team", "pull"),
        ("secrets", "team", "s-vol"), ("secrets", "team", "s-proj"),
        ("secrets", "team", "s-env")}
    bare = {"metadata": {"namespace": "team"}, "spec": {"containers": [{"name": "c"}]}}
    assert watched_objects(bare) == frozenset()  # the service account is not read


@pytest.fixture(scope="module")
def apiserver() -> Iterator[RunningApiServer]:
    with running_apiserver() as server:
        yield server


def _wait(condition: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _reflector_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("reflector-"))


@pytest.mark.slow
def test_watched_objects_follow_the_api_and_stop_with_their_last_pod(
        apiserver: RunningApiServer) -> None:
    core = k8s.CoreV1Api(apiserver.client())
    core.create_namespaced_config_map("default", {"metadata": {"name": "app-config"},
                                                  "data": {"mode": "one"}})
    pod = core.create_namespaced_pod("default", {
        "metadata": {"name": "watcher"},
        "spec": {"nodeName": NODE, "containers": [{"name": "c", "image": "busybox", "env": [
            {"name": "T", "valueFrom": {"secretKeyRef": {"name": "later", "key": "t"}}}]}],
                 "volumes": [{"name": "v", "configMap": {"name": "app-config"}}]}})
    body = core.api_client.sanitize_for_serialization(pod)
    uid = body["metadata"]["uid"]
    rest = RestClient.from_kubeconfig(apiserver.node_kubeconfig(NODE))
    woken: list[set[str]] = []
    threads_before = _reflector_threads()
    watches = ObjectWatches(rest.lister, woken.append)
    try:
        with pytest.raises(ObjectWatchError, match='object "default"/"app-config" not '
                                                   'registered'):
            watches.get("configmaps", "default", "app-config")
        watches.register_pod(body)
        assert watches.watching() == {("configmaps", "default", "app-config"),
                                      ("secrets", "default", "later"),  # and admission's
                                      ("configmaps", "default", "kube-root-ca.crt")}
        found = watches.get("configmaps", "default", "app-config")
        assert found is not None and found["data"] == {"mode": "one"}
        assert watches.get("secrets", "default", "later") is None  # not there (yet)
        assert woken == []  # the first lists change nothing

        core.patch_namespaced_config_map("app-config", "default", {"data": {"mode": "two"}})
        _wait(lambda: (watches.get("configmaps", "default", "app-config") or {})
              .get("data") == {"mode": "two"}, "the watched configMap's update")
        core.create_namespaced_secret("default", {"metadata": {"name": "later"},
                                                  "stringData": {"t": "x"}})
        _wait(lambda: watches.get("secrets", "default", "later") is not None,
              "the secret created after the pod")
        assert woken and all(uids == {uid} for uids in woken)  # the pod syncs at once

        watches.unregister_pod(uid)
        assert watches.watching() == set()
        _wait(lambda: _reflector_threads() == threads_before, "the watches to end")
    finally:
        watches.stop()


@pytest.mark.slow
def test_an_immutable_object_is_read_once_and_no_longer_watched(
        apiserver: RunningApiServer) -> None:
    """Upstream's watch-based manager stops the reflector of an object it read as immutable
    and keeps serving that copy."""
    core = k8s.CoreV1Api(apiserver.client())
    core.create_namespaced_secret("default", {"metadata": {"name": "frozen"}, "immutable": True,
                                              "stringData": {"k": "v"}})
    pod = core.create_namespaced_pod("default", {
        "metadata": {"name": "frozen-user"},
        "spec": {"nodeName": NODE, "containers": [{"name": "c", "image": "busybox"}],
                 "volumes": [{"name": "v", "secret": {"secretName": "frozen"}}]}})
    body = core.api_client.sanitize_for_serialization(pod)
    rest = RestClient.from_kubeconfig(apiserver.node_kubeconfig(NODE))
    threads_before = _reflector_threads()
    watches = ObjectWatches(rest.lister)
    try:
        watches.register_pod(body)
        _wait(lambda: _reflector_threads() == threads_before + 2, "the two watches")
        found = watches.get("secrets", "default", "frozen")
        assert found is not None and found["immutable"] is True
        _wait(lambda: _reflector_threads() == threads_before + 1,
              "the immutable secret's watch to end (kube-root-ca.crt's goes on)")
        assert watches.get("secrets", "default", "frozen") == found
        assert ("secrets", "default", "frozen") in watches.watching()
        watches.unregister_pod(body["metadata"]["uid"])
        _wait(lambda: _reflector_threads() == threads_before, "the other watch to end")
    finally:
        watches.stop()
