"""What a fresh cluster has before anyone creates anything, kept true while the server runs.

- the namespaces `default`, `kube-system`, `kube-public`, `kube-node-lease`;
- in every namespace, the `default` ServiceAccount (upstream: the service-account controller)
  and the `kube-root-ca.crt` ConfigMap with the lab CA (the root-CA publisher), which pods'
  projected service-account volumes read;
- the `kubernetes` Service at 10.96.0.1:443 with an Endpoints and an EndpointSlice pointing at
  this API server, as kube-apiserver's own reconciler maintains them;
- upstream's bootstrap RBAC policy (`auth/bootstrap_policy.py`), with its Role
  `kube-system/extension-apiserver-authentication-reader`, and what an installer adds for the
  lab's own components (`auth/identities.py`: kubeadm's binding of the API server's kubelet
  client to `system:kubelet-api-admin`, podnet's kindnet-like ClusterRole), created when
  missing and otherwise left as they are;
- the `kube-system/extension-apiserver-authentication` ConfigMap, as kube-apiserver publishes
  it: the client CA, and which front proxy an aggregated API server may trust (its CA, the
  certificate name `front-proxy-client`, the `X-Remote-*` headers);
- the system PriorityClasses `system-node-critical` and `system-cluster-critical`.

`reconcile` is idempotent; the server runs it at start, after each namespace is created, and
every second (together with namespace finalization, the foreground deletion of owners and the
CRD controllers: names, Established, the cleanup finalizer).
"""

from __future__ import annotations

import contextlib

from nodelab.controlplane.auth.bootstrap_policy import (
    CLUSTER_ROLE_BINDINGS,
    CLUSTER_ROLES,
    NAMESPACE_ROLES,
)
from nodelab.controlplane.auth.identities import (
    INSTALLER_CLUSTER_ROLE_BINDINGS,
    INSTALLER_CLUSTER_ROLES,
)
from nodelab.controlplane.errors import ApiError
from nodelab.controlplane.registry.allocation import KUBERNETES_SERVICE_IP
from nodelab.controlplane.registry.deletion import (
    finalize_definitions,
    finalize_foreground,
    finalize_namespaces,
)
from nodelab.controlplane.registry.rest import Registry
from nodelab.controlplane.resources import lookup
from nodelab.controlplane.storage.store import AlreadyExists, Conflict
from nodelab.controlplane.validation.priorityclasses import SYSTEM_CLASSES
from nodelab.kube.objects import Object

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def _ensure(registry: Registry, group: str, plural: str, namespace: str, obj: Object,
            update: bool = True) -> None:
    rt = lookup(group, "v1", plural)
    assert rt is not None
    name = obj["metadata"]["name"]
    current = registry.store.get(rt.storage_key, namespace, name)
    try:
        if current is None:
            registry.create(rt, namespace, obj, {})
        elif update and _differs(current, obj):
            merged = {**current, **{k: v for k, v in obj.items() if k != "metadata"}}
            registry.update(rt, namespace, name, merged, {})
    except (ApiError, AlreadyExists, Conflict):
        return


def _differs(current: Object, wanted: Object) -> bool:
    return any(current.get(k) != v for k, v in wanted.items() if k not in ("metadata", "spec"))


def populate_namespace(registry: Registry, namespace: str, ca_pem: str) -> None:
    _ensure(registry, "", "serviceaccounts", namespace,
            {"metadata": {"name": "default"}})
    _ensure(registry, "", "configmaps", namespace,
            {"metadata": {"name": "kube-root-ca.crt", "annotations": {
                "kubernetes.io/description": "Contains a CA bundle that can be used to verify "
                "the kube-apiserver when using internal endpoints such as the internal service "
                "IP or kubernetes.default.svc. No other usage is guaranteed across "
                "distributions of Kubernetes clusters."}},
             "data": {"ca.crt": ca_pem}})


def kubernetes_service(registry: Registry, address: str, port: int) -> None:
    rt = lookup("", "v1", "services")
    assert rt is not None
    if registry.store.get("core/services", "default", "kubernetes") is None:
        with contextlib.suppress(ApiError):
            registry.create(rt, "default", {
                "metadata": {"name": "kubernetes", "labels": {
                    "component": "apiserver", "provider": "kubernetes"}},
                "spec": {"type": "ClusterIP", "clusterIP": KUBERNETES_SERVICE_IP,
                         "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                    "targetPort": port}]}}, {})
    _ensure(registry, "", "endpoints", "default", {
        "metadata": {"name": "kubernetes",
                     "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": address}],
                     "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]})
    _ensure(registry, "discovery.k8s.io", "endpointslices", "default", {
        "metadata": {"name": "kubernetes", "labels": {
            "kubernetes.io/service-name": "kubernetes",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}]})


def extension_authentication(registry: Registry, ca_pem: str, front_proxy_ca_pem: str
                             ) -> None:
    """What an aggregated API server reads to trust this server's proxied requests."""
    if not front_proxy_ca_pem:
        return
    _ensure(registry, "", "configmaps", "kube-system", {
        "metadata": {"name": "extension-apiserver-authentication"},
        "data": {
            "client-ca-file": ca_pem,
            "requestheader-allowed-names": '["front-proxy-client"]',
            "requestheader-client-ca-file": front_proxy_ca_pem,
            "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
            "requestheader-group-headers": '["X-Remote-Group"]',
            "requestheader-username-headers": '["X-Remote-User"]',
        }})


def reconcile(registry: Registry, address: str, port: int, ca_pem: str,
              front_proxy_ca_pem: str = "") -> None:
    rt = lookup("", "v1", "namespaces")
    assert rt is not None
    for name in SYSTEM_NAMESPACES:
        if registry.store.get("core/namespaces", "", name) is None:
            with contextlib.suppress(ApiError):
                registry.create(rt, "", {"metadata": {"name": name}}, {})
    for ns in registry.store.select("core/namespaces")[0]:
        if not ns["metadata"].get("deletionTimestamp"):
            populate_namespace(registry, ns["metadata"]["name"], ca_pem)
    kubernetes_service(registry, address, port)
    bootstrap_policy(registry)
    extension_authentication(registry, ca_pem, front_proxy_ca_pem)
    for system_class in SYSTEM_CLASSES:  # kube-apiserver's post-start hook
        _ensure(registry, "scheduling.k8s.io", "priorityclasses", "", system_class)
    finalize_namespaces(registry)
    finalize_definitions(registry)
    finalize_foreground(registry)


def bootstrap_policy(registry: Registry) -> None:
    """Upstream's bootstrap ClusterRoles and ClusterRoleBindings, put back when changed."""
    for role in CLUSTER_ROLES:
        _ensure(registry, "rbac.authorization.k8s.io", "clusterroles", "", role)
    for binding in CLUSTER_ROLE_BINDINGS:
        _ensure(registry, "rbac.authorization.k8s.io", "clusterrolebindings", "", binding)
    for namespace, role in NAMESPACE_ROLES:
        _ensure(registry, "rbac.authorization.k8s.io", "roles", namespace, role)
    for role in INSTALLER_CLUSTER_ROLES:  # rules kept current (podnet's grew with policies)
        _ensure(registry, "rbac.authorization.k8s.io", "clusterroles", "", role)
    for binding in INSTALLER_CLUSTER_ROLE_BINDINGS:
        _ensure(registry, "rbac.authorization.k8s.io", "clusterrolebindings", "", binding,
                update=False)

