"""Where the Kubernetes views read objects from: a small `ObjectSource` interface.

Views of Kubernetes objects (`NodeView`, `PodLifecycleView`, `ClusterView`) see objects as the
API serves them in JSON (`kubectl get -o json`): plain dicts with camelCase keys and `kind`
set on every item. An `ObjectSource` answers one question, `list(kind, namespace)`, for the
kinds the views use: Node, Pod, Service, Event, Lease.

- `ApiObjects(kubeconfig)` asks an API server (the embedded control plane, a kind cluster,
  any cluster) through the official client, with `_preload_content=False` so the objects stay
  the API's JSON rather than the client's Python models;
- `StaticObjects(objects)` answers from a list of dicts (recorded objects, a test, a notebook
  on a host that cannot run a lab).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from nodelab.kube.objects import Object

KINDS = ("Node", "Pod", "Service", "Event", "Lease")


class ObjectSource(Protocol):
    def list(self, kind: str, namespace: str | None = None) -> list[Object]:
        """Every object of `kind` (in `namespace`, or in all namespaces when None)."""
        ...


def name_of(obj: Object) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def namespace_of(obj: Object) -> str:
    return str(obj.get("metadata", {}).get("namespace", ""))


class StaticObjects:
    """Objects given up front; `kind` of each must be set (as `kubectl get -o json` sets it)."""

    def __init__(self, objects: Iterable[Object]) -> None:
        self.objects = list(objects)

    def list(self, kind: str, namespace: str | None = None) -> list[Object]:
        return [o for o in self.objects if o.get("kind") == kind
                and (namespace is None or namespace_of(o) == namespace)]


class ApiObjects:
    """Objects read from an API server through the official `kubernetes` client."""

    def __init__(self, kubeconfig: str | Path, context: str | None = None) -> None:
        from kubernetes import client, config

        self._api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig), context=context, persist_config=False
        )
        self._core = client.CoreV1Api(self._api)
        self._coordination = client.CoordinationV1Api(self._api)

    def _calls(self, kind: str, namespace: str | None) -> Callable[..., Any]:
        core, coordination = self._core, self._coordination
        table: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
            "Node": (core.list_node, core.list_node),
            "Pod": (core.list_pod_for_all_namespaces, core.list_namespaced_pod),
            "Service": (core.list_service_for_all_namespaces, core.list_namespaced_service),
            "Event": (core.list_event_for_all_namespaces, core.list_namespaced_event),
            "Lease": (coordination.list_lease_for_all_namespaces,
                      coordination.list_namespaced_lease),
        }
        if kind not in table:
            from nodelab.errors import NodelabError

            raise NodelabError(f"views cannot list {kind}: only {', '.join(KINDS)}")
        every, namespaced = table[kind]
        if namespace is None or kind == "Node":
            return every
        return lambda **kw: namespaced(namespace, **kw)

    def list(self, kind: str, namespace: str | None = None) -> list[Object]:
        response = self._calls(kind, namespace)(_preload_content=False, _request_timeout=10)
        items = json.loads(response.data).get("items") or []
        for item in items:
            item.setdefault("kind", kind)
        return list(items)

    def close(self) -> None:
        self._api.close()


def lab_objects(lab: Any) -> ApiObjects:
    """An `ApiObjects` on the admin kubeconfig of `lab` (a `nodelab.lab.Lab`)."""
    kubeconfig = Path(lab.kubeconfig)
    if not kubeconfig.exists():
        from nodelab.errors import NodelabError

        raise NodelabError(
            f"lab {lab.name} has no kubeconfig at {kubeconfig} yet: its control plane is not "
            f"running (bring it up with `nodelab up --name {lab.name}`)"
        )
    return ApiObjects(kubeconfig)
