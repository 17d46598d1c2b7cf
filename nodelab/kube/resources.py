"""Where each resource kind lives in the API: its path prefix, plural and whether it is
namespaced (what a client needs to build a URL; no client imported here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    prefix: str  # "/api/v1" or "/apis/<group>/<version>"
    plural: str
    namespaced: bool


RESOURCES = {
    "pods": Resource("/api/v1", "pods", True),
    "nodes": Resource("/api/v1", "nodes", False),
    "namespaces": Resource("/api/v1", "namespaces", False),
    "services": Resource("/api/v1", "services", True),
    "endpoints": Resource("/api/v1", "endpoints", True),
    "replicationcontrollers": Resource("/api/v1", "replicationcontrollers", True),
    "events": Resource("/api/v1", "events", True),
    "configmaps": Resource("/api/v1", "configmaps", True),
    "secrets": Resource("/api/v1", "secrets", True),
    "serviceaccounts": Resource("/api/v1", "serviceaccounts", True),
    "persistentvolumes": Resource("/api/v1", "persistentvolumes", False),
    "persistentvolumeclaims": Resource("/api/v1", "persistentvolumeclaims", True),
    "storageclasses": Resource("/apis/storage.k8s.io/v1", "storageclasses", False),
    "limitranges": Resource("/api/v1", "limitranges", True),
    "resourcequotas": Resource("/api/v1", "resourcequotas", True),
    "endpointslices": Resource("/apis/discovery.k8s.io/v1", "endpointslices", True),
    "leases": Resource("/apis/coordination.k8s.io/v1", "leases", True),
    "replicasets": Resource("/apis/apps/v1", "replicasets", True),
    "deployments": Resource("/apis/apps/v1", "deployments", True),
    "jobs": Resource("/apis/batch/v1", "jobs", True),
    "cronjobs": Resource("/apis/batch/v1", "cronjobs", True),
    "daemonsets": Resource("/apis/apps/v1", "daemonsets", True),
    "statefulsets": Resource("/apis/apps/v1", "statefulsets", True),
    "controllerrevisions": Resource("/apis/apps/v1", "controllerrevisions", True),
    "clusterroles": Resource("/apis/rbac.authorization.k8s.io/v1", "clusterroles", False),
    "clusterrolebindings": Resource("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings",
                                    False),
    "roles": Resource("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    "rolebindings": Resource("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "horizontalpodautoscalers": Resource("/apis/autoscaling/v2", "horizontalpodautoscalers",
                                         True),
    "poddisruptionbudgets": Resource("/apis/policy/v1", "poddisruptionbudgets", True),
    "networkpolicies": Resource("/apis/networking.k8s.io/v1", "networkpolicies", True),
    "apiservices": Resource("/apis/apiregistration.k8s.io/v1", "apiservices", False),
    "certificatesigningrequests": Resource("/apis/certificates.k8s.io/v1",
                                           "certificatesigningrequests", False),
    "tokenreviews": Resource("/apis/authentication.k8s.io/v1", "tokenreviews", False),
    "subjectaccessreviews": Resource("/apis/authorization.k8s.io/v1", "subjectaccessreviews",
                                     False),
}


def path(kind: str, namespace: str | None = None, name: str | None = None,
         subresource: str | None = None) -> str:
    resource = RESOURCES[kind]
    text = resource.prefix
    if resource.namespaced and namespace:
        text += f"/namespaces/{namespace}"
    text += f"/{resource.plural}"
    if name:
        text += f"/{name}"
        if subresource:
            text += f"/{subresource}"
    return text
