"""The one event recorder (nodelab/kube/recorder.py) against a real API server: a repeat
PATCHes the stored Event's count, an Event gone since is created again, ten similar messages
become one combined Event, and `kubectl get events -o wide` shows upstream's Count column."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nodelab.kube.events import event_for
from nodelab.kube.recorder import EventRecorder
from nodelab.kube.restclient import RestClient
from tests.controlplane.apiserver import RunningApiServer, running_apiserver


@pytest.fixture(scope="module")
def apiserver() -> Iterator[RunningApiServer]:
    with running_apiserver() as server:
        yield server


def _pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"}}


def _events(api: RestClient, pod: str) -> list[dict[str, Any]]:
    return list(api.list("events", "default",
                         field_selector=f"involvedObject.name={pod}")["items"])


def test_a_repeat_is_one_event_with_a_count(apiserver: RunningApiServer) -> None:
    api = RestClient.from_kubeconfig(apiserver.kubeconfig)
    recorder = EventRecorder(api)
    for _ in range(3):
        recorder.record(event_for(_pod("web"), "Pod", "BackOff", "Back-off restarting failed "
                                  "container app", component="kubelet", event_type="Warning",
                                  host="node1"))
    [stored] = _events(api, "web")
    assert stored["count"] == 3 and stored["reason"] == "BackOff"
    api.delete("events", "default", stored["metadata"]["name"])
    recorder.record(event_for(_pod("web"), "Pod", "BackOff", "Back-off restarting failed "
                              "container app", component="kubelet", event_type="Warning",
                              host="node1"))
    [again] = _events(api, "web")  # the patch found nothing: created again, still counted
    assert again["metadata"]["name"] == stored["metadata"]["name"] and again["count"] == 4


def test_similar_events_are_combined(apiserver: RunningApiServer) -> None:
    api = RestClient.from_kubeconfig(apiserver.kubeconfig)
    recorder = EventRecorder(api)
    for i in range(12):
        recorder.record(event_for(_pod("db"), "Pod", "Unhealthy", f"Readiness probe failed: {i}",
                                  component="kubelet", event_type="Warning", host="node1"))
    events = _events(api, "db")
    combined = [e for e in events if e["message"].startswith("(combined from similar events)")]
    assert len(events) == 10 and len(combined) == 1
    assert combined[0]["count"] == 3
    assert combined[0]["message"] == ("(combined from similar events): Readiness probe "
                                      "failed: 11")


def test_kubectl_shows_the_count(apiserver: RunningApiServer) -> None:
    api = RestClient.from_kubeconfig(apiserver.kubeconfig)
    recorder = EventRecorder(api)
    for _ in range(5):
        recorder.record(event_for(_pod("cache"), "Pod", "Pulled", "Container image ok",
                                  component="kubelet", host="node1"))
    table = apiserver.kubectl("get", "events", "-o", "wide", "--field-selector",
                              "involvedObject.name=cache").stdout.splitlines()
    header = table[0].split()
    assert header[:4] == ["LAST", "SEEN", "TYPE", "REASON"]
    assert header[-4:] == ["FIRST", "SEEN", "COUNT", "NAME"]
    assert table[1].split()[-2] == "5"
    assert "kubelet, node1" in table[1]
    listed = apiserver.kubectl_json("events", "--for", "pod/cache")
    assert [e["count"] for e in listed["items"]] == [5]
    shown = apiserver.kubectl("events", "--for", "pod/cache").stdout.splitlines()
    assert "(x5 over " in shown[1], shown  # `kubectl events`' LAST SEEN: `3s (x5 over 3s)`


def test_kubectl_describe_shows_the_repeats(apiserver: RunningApiServer) -> None:
    api = RestClient.from_kubeconfig(apiserver.kubeconfig)
    pod = api.create("pods", "default", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "described"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    recorder = EventRecorder(api)
    for _ in range(4):
        recorder.record(event_for(pod, "Pod", "BackOff", "Back-off restarting failed container",
                                  component="kubelet", event_type="Warning", host="node1"))
    described = apiserver.kubectl("describe", "pod", "described").stdout
    line = next(row for row in described.splitlines() if "BackOff" in row)
    assert "(x4 over" in line, described
