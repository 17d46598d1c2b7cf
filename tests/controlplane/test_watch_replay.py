"""A watch with a selector, resumed from an old resourceVersion, replays each change judged by
the object before and after it (upstream's convertToWatchEvent), never by the objects as they
are now: a pod created unbound and then bound to node1 is ADDED to node1's watch when it is
bound, not DELETED first (which made a restarted kubelet kill every pod it ran)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodelab.controlplane.http import watch
from nodelab.controlplane.resources import lookup
from nodelab.controlplane.storage.store import Store

pytestmark = pytest.mark.unit

PODS = lookup("", "v1", "pods")
KEY = "core/pods"


def _pod(node: str = "", app: str = "web") -> dict[str, object]:
    spec: dict[str, object] = {"containers": [{"name": "c", "image": "i"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default", "labels": {"app": app}},
            "spec": spec}


def _events(store: Store, since: int, **query: str) -> list[tuple[str, str, str]]:
    """(type, spec.nodeName, resourceVersion) of each line of a watch from `since` that ends
    at once (it is asked to stop after the first wait)."""
    assert PODS is not None
    waited = iter([False, True])
    lines: Iterator[bytes] = watch.stream(store, PODS, "default",
                                          {"resourceVersion": str(since), **query},
                                          lambda obj: obj, lambda: next(waited, True))
    found = []
    for line in lines:
        event = json.loads(line)
        obj = event["object"]
        found.append((event["type"], obj["spec"].get("nodeName", ""),
                      obj["metadata"]["resourceVersion"]))
    return found


def _history(store: Store) -> tuple[int, list[int]]:
    """Create p unbound, bind it to node1, relabel it, move it to node2 (as a test can; the
    API refuses that), delete it: the revision before, and each write's revision."""
    start = store.revision
    revisions = [int(store.create(KEY, "default", "p", _pod())["metadata"]["resourceVersion"])]
    for pod in (_pod("node1"), _pod("node1", app="db"), _pod("node2", app="db")):
        revisions.append(int(store.update(KEY, "default", "p", pod, None)
                             ["metadata"]["resourceVersion"]))
    revisions.append(int(store.delete(KEY, "default", "p")["metadata"]["resourceVersion"]))
    return start, revisions


@pytest.mark.parametrize("query, expected", [
    # node1's kubelet: ADDED when bound, MODIFIED while it stays, DELETED (as it was, at the
    # move's revision) when it leaves; nothing for the delete on node2
    ({"fieldSelector": "spec.nodeName=node1"},
     [("ADDED", "node1", 1), ("MODIFIED", "node1", 2), ("DELETED", "node1", 3)]),
    ({"fieldSelector": "spec.nodeName=node2"},
     [("ADDED", "node2", 3), ("DELETED", "node2", 4)]),
    # labels: stops matching at the relabel, never matches again
    ({"labelSelector": "app=web"},
     [("ADDED", "", 0), ("MODIFIED", "node1", 1), ("DELETED", "node1", 2)]),
    ({}, [("ADDED", "", 0), ("MODIFIED", "node1", 1), ("MODIFIED", "node1", 2),
          ("MODIFIED", "node2", 3), ("DELETED", "node2", 4)]),
])
def test_replay_judges_each_change_by_its_before_and_after(
        tmp_path: Path, query: dict[str, str], expected: list[tuple[str, str, int]]) -> None:
    store = Store(tmp_path / "db")
    start, revisions = _history(store)
    wanted = [(kind, node, str(revisions[i])) for kind, node, i in expected]
    assert _events(store, start, **query) == wanted
    store.close()
    reopened = Store(tmp_path / "db")  # the API server restarted: history from disk
    assert _events(reopened, start, **query) == wanted
    reopened.close()


def test_resuming_mid_history_starts_from_that_revision(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    _start, revisions = _history(store)
    assert _events(store, revisions[1], fieldSelector="spec.nodeName=node1") == [
        ("MODIFIED", "node1", str(revisions[2])), ("DELETED", "node1", str(revisions[3]))]
    store.close()


def test_a_change_whose_predecessor_was_compacted_away_sends_the_client_to_list(
        tmp_path: Path) -> None:
    """After a restart the history starts with a MODIFIED whose previous write is gone:
    whether it stopped matching cannot be told, so the watch answers 410 (list again) rather
    than guess and miss a DELETED."""
    store = Store(tmp_path / "db", history_limit=2)
    store.create(KEY, "default", "p", _pod())
    start = store.revision
    for node in ("node1", "node2", "node2", "node2"):  # compaction drops the early writes
        store.update(KEY, "default", "p", _pod(node), None)
    store.close()
    reopened = Store(tmp_path / "db", history_limit=2)
    since = reopened.compacted
    assert since >= start
    lines = list(watch.stream(reopened, PODS, "default",
                              {"resourceVersion": str(since),
                               "fieldSelector": "spec.nodeName=node1"},
                              lambda obj: obj, iter([False, True]).__next__))
    assert len(lines) == 1
    error = json.loads(lines[0])
    assert error["type"] == "ERROR" and error["object"]["code"] == 410
    reopened.close()
