"""Watch: from a resourceVersion, resume, 410 after compaction, bookmarks, selectors,
initial events, many watchers, and kubectl get -w."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator

import pytest

from tests.controlplane.apiserver import KUBECTL, RunningApiServer, running_apiserver
from tests.controlplane.watchclient import request, watch_events

CMS = "/api/v1/namespaces/default/configmaps"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def apiserver() -> Iterator[RunningApiServer]:
    with running_apiserver("--watch-history", "60") as server:
        yield server


def _cm(name: str, **labels: str) -> dict[str, object]:
    return {"metadata": {"name": name, "labels": labels}, "data": {"v": "1"}}


def test_watch_from_revision_and_resume(apiserver: RunningApiServer) -> None:
    code, first = request(apiserver, "POST", CMS, _cm("w-a"))
    assert code == 201
    start = first["metadata"]["resourceVersion"]
    request(apiserver, "POST", CMS, _cm("w-b"))
    request(apiserver, "PATCH", f"{CMS}/w-a", {"data": {"v": "2"}},
            "application/merge-patch+json")
    request(apiserver, "DELETE", f"{CMS}/w-b")
    seen = []
    for event in watch_events(apiserver, f"{CMS}?watch=true&resourceVersion={start}"):
        seen.append(event)
        if len(seen) == 2:
            break
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in seen] == [
        ("ADDED", "w-b"), ("MODIFIED", "w-a")]
    resume = seen[-1]["object"]["metadata"]["resourceVersion"]
    rest = next(iter(watch_events(apiserver, f"{CMS}?watch=true&resourceVersion={resume}")))
    assert (rest["type"], rest["object"]["metadata"]["name"]) == ("DELETED", "w-b")
    assert int(rest["object"]["metadata"]["resourceVersion"]) > int(resume)


def test_too_old_revision_is_410(apiserver: RunningApiServer) -> None:
    code, first = request(apiserver, "POST", CMS, _cm("old-0"))
    old = first["metadata"]["resourceVersion"]
    for i in range(80):
        request(apiserver, "PATCH", f"{CMS}/old-0", {"data": {"v": str(i)}},
                "application/merge-patch+json")
    event = next(iter(watch_events(apiserver, f"{CMS}?watch=true&resourceVersion={old}")))
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"


def test_bookmarks_when_idle(apiserver: RunningApiServer) -> None:
    code, listed = request(apiserver, "GET", CMS)
    rv = listed["metadata"]["resourceVersion"]
    # an idle watch gets a bookmark every BOOKMARK_INTERVAL (5 s): none within the read
    # timeout fails the test
    path = f"{CMS}?watch=true&resourceVersion={rv}&allowWatchBookmarks=true"
    event = next(iter(watch_events(apiserver, path, timeout=15)))
    assert event["type"] == "BOOKMARK"
    assert int(event["object"]["metadata"]["resourceVersion"]) >= int(rv)


def test_send_initial_events_ends_with_bookmark(apiserver: RunningApiServer) -> None:
    request(apiserver, "POST", CMS, _cm("init-a", set="init"))
    path = (f"{CMS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
            "&allowWatchBookmarks=true&labelSelector=set%3Dinit")
    events = []
    for event in watch_events(apiserver, path):
        events.append(event)
        if event["type"] == "BOOKMARK":
            break
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    annotations = events[-1]["object"]["metadata"]["annotations"]
    assert annotations == {"k8s.io/initial-events-end": "true"}


def test_selector_transitions(apiserver: RunningApiServer) -> None:
    code, obj = request(apiserver, "POST", CMS, _cm("sel-a", app="x"))
    rv = obj["metadata"]["resourceVersion"]
    request(apiserver, "PATCH", f"{CMS}/sel-a", {"metadata": {"labels": {"app": "y"}}},
            "application/merge-patch+json")
    request(apiserver, "PATCH", f"{CMS}/sel-a", {"metadata": {"labels": {"app": "x"}}},
            "application/merge-patch+json")
    path = f"{CMS}?watch=true&resourceVersion={rv}&labelSelector=app%3Dx"
    events = []
    for event in watch_events(apiserver, path):
        events.append(event["type"])
        if len(events) == 2:
            break
    assert events == ["DELETED", "ADDED"]


def test_fifty_watchers_each_get_every_write(apiserver: RunningApiServer) -> None:
    """Writers go on while 50 watchers follow them, and each watcher gets every event (how
    fast is the API server benchmarks' business, not a test's)."""
    code, listed = request(apiserver, "GET", CMS)
    rv = listed["metadata"]["resourceVersion"]
    writes = 40
    received = [0] * 50

    def watcher(index: int) -> None:
        path = f"{CMS}?watch=true&resourceVersion={rv}&labelSelector=load%3Dyes"
        for _ in watch_events(apiserver, path, timeout=30):
            received[index] += 1
            if received[index] == writes:
                return

    threads = [threading.Thread(target=watcher, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for i in range(writes):  # the watches start at rv: a write before one connects still reaches it
        assert request(apiserver, "POST", CMS, _cm(f"load-{i}", load="yes"))[0] == 201
    for thread in threads:
        thread.join(30)
    assert received == [writes] * 50


def test_kubectl_get_watch(apiserver: RunningApiServer) -> None:
    apiserver.kubectl("create", "configmap", "kw-a", "--from-literal=a=b")
    watcher = subprocess.Popen(
        [str(KUBECTL), "--kubeconfig", str(apiserver.kubeconfig), "get", "configmaps",
         "--watch", "--output-watch-events", "--request-timeout=20s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert watcher.stdout is not None
        seen = []
        for line in watcher.stdout:
            seen.append(line.split())
            if line.split()[:2] == ["ADDED", "kw-a"]:
                apiserver.kubectl("delete", "configmap", "kw-a")
            if line.split()[:2] == ["DELETED", "kw-a"]:
                break
        assert seen[-1][:2] == ["DELETED", "kw-a"], seen
    finally:
        watcher.terminate()
        watcher.communicate(timeout=10)
