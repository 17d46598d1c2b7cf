"""Namespace deletion: a namespace being deleted loses its contents, then its finalizer.

When a namespace has a deletionTimestamp, every object in it is deleted; once none is left
(pods go through their graceful deletion first), `spec.finalizers` is emptied through the
namespace's `finalize` subresource and the API server removes the namespace.
"""

from __future__ import annotations

from nodelab.kube.resources import RESOURCES
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer

CONTENTS = ("deployments", "replicasets", "replicationcontrollers", "daemonsets",
            "statefulsets", "cronjobs", "jobs", "controllerrevisions", "pods",
            "persistentvolumeclaims", "services",
            "endpointslices", "configmaps", "secrets", "serviceaccounts", "leases", "events",
            "roles", "rolebindings")


class NamespaceController:
    name = "namespace"
    kinds: tuple[str, ...] = (
        "namespaces", "pods", "services", "deployments", "replicasets", "endpointslices",
    )
    periodic = True

    def sync(self, store: Store, writer: Writer) -> None:
        for namespace in store.list("namespaces"):
            metadata = namespace["metadata"]
            if not metadata.get("deletionTimestamp"):
                continue
            name = metadata["name"]
            left = 0
            for kind in CONTENTS:
                if not RESOURCES[kind].namespaced:
                    continue
                listed = writer.rest.request("GET", f"{RESOURCES[kind].prefix}/namespaces/"
                                             f"{name}/{RESOURCES[kind].plural}")
                for item in listed.get("items") or []:
                    left += 1
                    if not (item.get("metadata") or {}).get("deletionTimestamp"):
                        writer.rest.delete(kind, name, item["metadata"]["name"])
            if left == 0 and (namespace.get("spec") or {}).get("finalizers"):
                body = {**namespace, "spec": {**namespace["spec"], "finalizers": []}}
                writer.rest.request("PUT", f"/api/v1/namespaces/{name}/finalize", body)
