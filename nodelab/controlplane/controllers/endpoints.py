"""The Endpoints controller: each Service with a selector keeps an Endpoints equal to its plan
(`endpoints_plan.py`); the Endpoints of a Service that is gone are deleted."""

from __future__ import annotations

from typing import Any

from nodelab.controlplane.controllers.endpoints_plan import desired_endpoints, differs
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer


class EndpointsController:
    name = "endpoint"
    kinds: tuple[str, ...] = ("services", "pods", "endpoints")
    periodic = False

    def sync(self, store: Store, writer: Writer) -> None:
        pods_by_namespace: dict[str, list[dict[str, Any]]] = {}
        for pod in store.list("pods"):
            pods_by_namespace.setdefault(pod["metadata"].get("namespace", ""), []).append(pod)
        existing = {(e["metadata"].get("namespace"), e["metadata"]["name"]): e
                    for e in store.list("endpoints")}
        services = set()
        for service in store.list("services"):
            namespace, name = service["metadata"]["namespace"], service["metadata"]["name"]
            services.add((namespace, name))
            wanted = desired_endpoints(service, pods_by_namespace.get(namespace, []))
            if wanted is None:
                continue
            current = existing.get((namespace, name))
            if current is None:
                writer.create("endpoints", namespace, wanted)
            elif differs(current, wanted):
                writer.replace("endpoints", namespace, name, wanted)
        for (namespace, name) in existing.keys() - services:
            writer.delete("endpoints", namespace, name)
