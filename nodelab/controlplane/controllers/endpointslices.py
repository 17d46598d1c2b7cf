"""The EndpointSlice controller: keeps each Service's slices equal to its plan."""

from __future__ import annotations

from nodelab.controlplane.controllers.endpointslice_plan import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    reconcile,
)
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer


class EndpointSliceController:
    name = "endpointslice"
    kinds: tuple[str, ...] = ("services", "pods", "endpointslices")
    periodic = False

    def sync(self, store: Store, writer: Writer) -> None:
        pods_by_namespace: dict[str, list[dict[str, object]]] = {}
        for pod in store.list("pods"):
            pods_by_namespace.setdefault(pod["metadata"].get("namespace", ""), []).append(pod)
        slices = store.list("endpointslices")
        for service in store.list("services"):
            metadata = service["metadata"]
            namespace, name = metadata["namespace"], metadata["name"]
            existing = [
                s for s in slices
                if s["metadata"].get("namespace") == namespace
                and (s["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL) == name
                and (s["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY
            ]
            plan = reconcile(service, pods_by_namespace.get(namespace, []), existing)
            for body in plan.create:
                writer.create("endpointslices", namespace, body)
            for body in plan.update:
                writer.replace("endpointslices", namespace, body["metadata"]["name"], body)
            for slice_name in plan.delete:
                writer.delete("endpointslices", namespace, slice_name)
