"""The quota controller's `count/` kinds beyond the ones it watches
(controllers/quota/resourcequota.py): a kind the loop's own reflectors already feed into the
cache is read from it, with no second reflector of that kind (its lists would replace what the
loop's delivered since) and no list of its own; a stopped controller starts no reflector and
writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.controllers.loop import ControllerLoop
from nodelab.controlplane.controllers.quota.resourcequota import COUNTED, ResourceQuotaController
from nodelab.kube.store import Store


class RecordingApi:
    """Records what is asked of the API (no API server here: nothing may be listed)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []
        self.replaced: list[dict[str, Any]] = []

    def lister(self, kind: str, namespace: str | None = None) -> Any:
        self.asked.append(("lister", kind))

        def refused(**_: Any) -> Any:
            raise ConnectionRefusedError(f"no API server to list {kind} from here")
        return refused

    def request(self, method: str, path: str, **_: Any) -> dict[str, Any]:
        self.asked.append((method, path))
        return {"items": []}

    def replace(self, kind: str, namespace: str, name: str, body: dict[str, Any],
                subresource: str | None = None) -> dict[str, Any]:
        self.replaced.append(body)
        return body


class ReadsEndpoints:
    """Another controller of the loop, one that reads endpoints."""

    name = "reads-endpoints"
    kinds: tuple[str, ...] = ("endpoints",)
    periodic = False

    def sync(self, store: Store, writer: Any) -> None:
        pass


def quota(counted: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "q", "namespace": "ns", "resourceVersion": "3"},
            "spec": {"hard": {counted: "5"}}}


def endpoints(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": "4"}}


def cached(store: Store, **extra: list[dict[str, Any]]) -> None:
    for kind in (*COUNTED, *extra):
        store.handle(kind, "LIST", extra.get(kind, []))
        store.mark_delivered(kind, "5")


@pytest.mark.unit
def test_a_count_of_a_kind_the_loop_watches_is_read_from_its_cache() -> None:
    api = RecordingApi()
    controller = ResourceQuotaController()
    loop = ControllerLoop(api, [controller, ReadsEndpoints()])  # type: ignore[arg-type]
    assert ("lister", "endpoints") in api.asked  # the loop's own reflector of endpoints
    api.asked.clear()
    cached(loop.store, endpoints=[endpoints("a"), endpoints("b")])
    loop.store.handle("resourcequotas", "ADDED", quota("count/endpoints"))
    controller.sync(loop.store, loop.writer)
    assert api.asked == []  # no second reflector, no list
    assert [body["status"]["used"] for body in api.replaced] == [{"count/endpoints": "2"}]


@pytest.mark.unit
def test_a_count_of_a_kind_nobody_watches_starts_a_reflector_and_lists_until_it_listed(
        ) -> None:
    api = RecordingApi()
    controller = ResourceQuotaController()
    loop = ControllerLoop(api, [controller, ReadsEndpoints()])  # type: ignore[arg-type]
    api.asked.clear()
    cached(loop.store)
    loop.store.handle("resourcequotas", "ADDED", quota("count/roles.rbac.authorization.k8s.io"))
    try:
        controller.sync(loop.store, loop.writer)
    finally:
        controller.stop()
    assert api.asked == [("lister", "roles"),
                         ("GET", "/apis/rbac.authorization.k8s.io/v1/namespaces/ns/roles")]


@pytest.mark.unit
def test_a_stopped_controller_starts_no_reflector_and_writes_nothing() -> None:
    api = RecordingApi()
    controller = ResourceQuotaController()
    loop = ControllerLoop(api, [controller])  # type: ignore[arg-type]
    api.asked.clear()
    cached(loop.store)
    loop.store.handle("resourcequotas", "ADDED", quota("count/roles.rbac.authorization.k8s.io"))
    controller.stop()  # the loop ends while its thread is about to sync
    controller.sync(loop.store, loop.writer)
    assert api.asked == []
    assert api.replaced == []
