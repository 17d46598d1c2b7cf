"""The store on its own: one global revision, compare-and-swap, history, durability, waits
per resource."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from nodelab.controlplane.storage.store import AlreadyExists, Conflict, Gone, NotFound, Store

pytestmark = pytest.mark.unit


def _obj(name: str, value: str = "a") -> dict[str, object]:
    return {"metadata": {"name": name}, "data": {"v": value}}


def test_global_revision_and_conflict(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    first = store.create("core/configmaps", "default", "a", _obj("a"))
    second = store.create("core/secrets", "default", "b", _obj("b"))
    assert int(second["metadata"]["resourceVersion"]) == int(
        first["metadata"]["resourceVersion"]) + 1
    rv = int(first["metadata"]["resourceVersion"])
    store.update("core/configmaps", "default", "a", _obj("a", "b"), rv)
    with pytest.raises(Conflict):
        store.update("core/configmaps", "default", "a", _obj("a", "c"), rv)
    with pytest.raises(AlreadyExists):
        store.create("core/configmaps", "default", "a", _obj("a"))
    with pytest.raises(NotFound):
        store.update("core/configmaps", "default", "zz", _obj("zz"), None)
    store.close()


def test_restart_keeps_objects_revision_and_history(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    for i in range(5):
        store.create("core/configmaps", "ns", f"c{i}", _obj(f"c{i}"))
    store.delete("core/configmaps", "ns", "c0")
    revision = store.revision
    store.close()
    again = Store(tmp_path / "db")
    assert again.revision == revision
    items, _ = again.select("core/configmaps", "ns")
    assert [i["metadata"]["name"] for i in items] == ["c1", "c2", "c3", "c4"]
    events, up_to = again.events_after(0, "core/configmaps")
    assert [e.type for e in events] == ["ADDED"] * 5 + ["DELETED"]
    assert up_to == revision
    again.close()


def test_compaction_makes_old_revisions_gone(tmp_path: Path) -> None:
    store = Store(tmp_path / "db", history_limit=10)
    for i in range(30):
        store.create("core/configmaps", "ns", f"c{i}", _obj(f"c{i}"))
    assert store.compacted > 1
    with pytest.raises(Gone):
        store.events_after(1, "core/configmaps")
    events, _ = store.events_after(store.revision - 3, "core/configmaps")
    assert len(events) == 3
    store.close()


def test_compaction_is_one_transaction(tmp_path: Path) -> None:
    """If recording the compaction mark fails, no event is deleted either (no silent gap)."""
    import sqlite3

    store = Store(tmp_path / "db", history_limit=10)
    side = sqlite3.connect(str(tmp_path / "db"))
    side.execute("CREATE TRIGGER no_mark BEFORE INSERT ON meta WHEN NEW.key = 'compacted' "
                 "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END")
    side.commit()
    for i in range(30):
        store.create("core/configmaps", "ns", f"c{i}", _obj(f"c{i}"))
    assert store.compacted == 0
    events, _ = store.events_after(0, "core/configmaps")
    assert len(events) == 30
    store.close()
    again = Store(tmp_path / "db", history_limit=1000)
    assert again.compacted == 0 and len(again.events_after(0, "core/configmaps")[0]) == 30
    again.close()
    side.close()


def test_the_store_is_private(tmp_path: Path) -> None:
    """Every Secret is in it: only its owner may read the file, from the moment it exists."""
    import os
    import stat

    store = Store(tmp_path / "db")
    store.create("core/secrets", "ns", "s", _obj("s"))
    for name in os.listdir(tmp_path):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600, name
    store.close()


def test_shared_lists_follow_every_write_of_their_resource(tmp_path: Path) -> None:
    """`select_shared` (what RBAC reads each request) is parsed once per change: the same
    objects until the resource is written, then the new state (a write, an update, a delete;
    another resource's writes change nothing)."""
    store = Store(tmp_path / "db")
    store.create("rbac.authorization.k8s.io/clusterroles", "", "a", _obj("a"))
    first = store.select_shared("rbac.authorization.k8s.io/clusterroles")
    assert [o["metadata"]["name"] for o in first] == ["a"]
    store.create("core/configmaps", "default", "other", _obj("other"))
    assert store.select_shared("rbac.authorization.k8s.io/clusterroles") is first
    store.create("rbac.authorization.k8s.io/clusterroles", "", "b", _obj("b"))
    second = store.select_shared("rbac.authorization.k8s.io/clusterroles")
    assert [o["metadata"]["name"] for o in second] == ["a", "b"]
    store.update("rbac.authorization.k8s.io/clusterroles", "", "a", _obj("a", "new"), None)
    assert store.select_shared("rbac.authorization.k8s.io/clusterroles")[0]["data"] == {
        "v": "new"}
    store.delete("rbac.authorization.k8s.io/clusterroles", "", "b")
    assert [o["metadata"]["name"]
            for o in store.select_shared("rbac.authorization.k8s.io/clusterroles")] == ["a"]
    store.create("rbac.authorization.k8s.io/rolebindings", "team", "rb", _obj("rb"))
    assert store.select_shared("rbac.authorization.k8s.io/rolebindings", "other") == []
    assert len(store.select_shared("rbac.authorization.k8s.io/rolebindings", "team")) == 1
    store.close()


def test_a_write_wakes_the_watches_of_its_resource_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.create("core/pods", "ns", "p", _obj("p"))
    seen = store.revision
    store.create("core/configmaps", "ns", "c", _obj("c"))
    assert store.wait("core/configmaps", seen, 0.0)
    assert not store.wait("core/pods", seen, 0.0)  # a configMap is no news to a pod watch
    woken: list[bool] = []
    waiter = threading.Thread(target=lambda: woken.append(store.wait("core/pods", seen, 60.0)))
    waiter.start()
    store.create("core/pods", "ns", "q", _obj("q"))
    waiter.join()
    assert woken == [True]
    store.close()


def test_a_delete_before_a_restart_is_news_after_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.create("core/pods", "ns", "p", _obj("p"))
    seen = store.revision
    store.delete("core/pods", "ns", "p")
    store.close()
    again = Store(tmp_path / "db")
    assert again.wait("core/pods", seen, 0.0)  # the delete is in the history, not the objects
    again.close()
