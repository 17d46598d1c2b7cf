"""The kubelet's node informer: a GET only before the first list, then the watched Node.

The API is a stand-in that counts GETs and serves the list/watch the reflector asks for
(the reflector is the real one; its events are fed through the stand-in's responses), so
the test sees exactly which reads reach the API server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from nodelab.kubelet.node.informer import NodeInformer, NodeNotFound

pytestmark = pytest.mark.unit


def _node(version: str, capacity: str = "4") -> dict[str, Any]:
    return {"metadata": {"name": "node1", "resourceVersion": version},
            "status": {"capacity": {"cpu": capacity}}}


class Response:
    """A list answer (`data`) or a watch stream (`stream`) the reflector reads."""

    def __init__(self, data: Any = None, events: Iterator[dict[str, Any]] | None = None
                 ) -> None:
        self.data = json.dumps(data).encode()
        self.events = events
        self.status = 200

    def stream(self, amt: Any = None, decode_content: bool = False) -> Iterator[bytes]:
        for event in self.events or iter(()):
            yield json.dumps(event).encode() + b"\n"

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        pass


class StandInApi:
    def __init__(self) -> None:
        self.gets: list[str] = []
        self.lists: list[dict[str, Any]] = []
        self.watch_events: list[dict[str, Any]] = []
        self.listed = threading.Event()
        self.release = threading.Event()  # the watch sends its events once set

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
        self.gets.append(f"{kind}/{name}")
        return _node("1", capacity="1")

    def lister(self, kind: str) -> Any:
        assert kind == "nodes"

        def list_or_watch(watch: bool = False, **options: Any) -> Response:
            self.lists.append({"watch": watch, **options})
            if not watch:
                self.listed.set()
                return Response({"metadata": {"resourceVersion": "5"}, "items": [_node("5")]})
            self.release.wait(60)  # the test releases it; the bound only ends a failed test

            def events() -> Iterator[dict[str, Any]]:
                yield from self.watch_events
                self.watch_events = []
                threading.Event().wait(5)  # hold the watch open
            return Response(events=events())
        return list_or_watch


def _wait(condition: Any, timeout: float = 60.0) -> bool:
    """Until the condition holds (a deadline generous enough for a loaded machine)."""
    done = threading.Event()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        done.wait(0.01)
    return bool(condition())


def test_a_get_before_the_first_list_then_reads_from_the_watch() -> None:
    api = StandInApi()
    informer = NodeInformer(api, "node1")  # type: ignore[arg-type]
    # not started: nothing listed yet, so the Node comes from a GET
    assert informer.get()["status"]["capacity"]["cpu"] == "1"
    assert api.gets == ["nodes/node1"]
    informer.start()
    try:
        assert _wait(lambda: informer.synced)
        # the reflector lists only this node, by a field selector on its name
        assert api.lists[0]["field_selector"] == "metadata.name=node1"
        for _ in range(3):  # every read after the list comes from the store
            assert informer.get()["metadata"]["resourceVersion"] == "5"
        api.watch_events = [{"type": "MODIFIED", "object": _node("6", capacity="8")}]
        api.release.set()
        assert _wait(lambda: informer.get()["metadata"]["resourceVersion"] == "6")
        assert informer.get()["status"]["capacity"]["cpu"] == "8"
        assert api.gets == ["nodes/node1"]  # still the one GET
        assert informer.gets == 1
    finally:
        informer.stop()


def test_a_node_deleted_after_registration_is_reported_not_fetched() -> None:
    api = StandInApi()
    informer = NodeInformer(api, "node1")  # type: ignore[arg-type]
    informer.store.handle("nodes", "LIST", [_node("5")])
    informer.reflector.synced.set()
    informer.store.handle("nodes", "DELETED", _node("7"))
    with pytest.raises(NodeNotFound, match="node node1 is not in the API server.*restart"):
        informer.get()
    assert api.gets == []
