"""Defaulting, as upstream's `SetDefaults_*` functions and default admission plugins do it.

What a client omits, the server fills in before validation and storage, so every reader (the
kubelet, kube-proxy, `kubectl get -o yaml`) sees the same complete object it would see from
kube-apiserver: `restartPolicy: Always`, `imagePullPolicy` from the image tag,
`terminationMessagePath`, service `targetPort = port`, deployment strategy 25%/25%, the
`DefaultTolerationSeconds` tolerations, and so on. Each function mutates the object it is given.
"""

from __future__ import annotations

from collections.abc import Callable

from nodelab.controlplane.registry.defaults import storage as storage_defaults
from nodelab.controlplane.registry.defaults.others import (
    RBAC_GROUP,
    apiservice,
    endpoints,
    endpointslice,
    horizontalpodautoscaler,
    ingress,
    ingressclass,
    limitrange,
    namespace,
    networkpolicy,
    node,
    poddisruptionbudget,
    priorityclass,
    resourcequota,
    role_binding,
    secret,
    service,
)
from nodelab.controlplane.registry.defaults.pods import pod
from nodelab.controlplane.registry.defaults.workloads import (
    cronjob,
    daemonset,
    deployment,
    job,
    replicaset,
    replicationcontroller,
    statefulset,
)
from nodelab.kube.objects import Object

__all__ = ["DEFAULTERS", "apply_defaults"]

DEFAULTERS: dict[str, Callable[[Object], None]] = {
    f"{RBAC_GROUP}/rolebindings": role_binding,
    f"{RBAC_GROUP}/clusterrolebindings": role_binding,
    "scheduling.k8s.io/priorityclasses": priorityclass,
    "networking.k8s.io/networkpolicies": networkpolicy,
    "networking.k8s.io/ingresses": ingress,
    "networking.k8s.io/ingressclasses": ingressclass,
    "core/limitranges": limitrange,
    "core/resourcequotas": resourcequota,
    "core/pods": pod,
    "core/services": service,
    "apps/deployments": deployment,
    "apps/replicasets": replicaset,
    "batch/jobs": job,
    "batch/cronjobs": cronjob,
    "apps/daemonsets": daemonset,
    "core/replicationcontrollers": replicationcontroller,
    "apps/statefulsets": statefulset,
    "core/nodes": node,
    "core/namespaces": namespace,
    "core/secrets": secret,
    "core/endpoints": endpoints,
    "discovery.k8s.io/endpointslices": endpointslice,
    "apiregistration.k8s.io/apiservices": apiservice,
    "autoscaling/horizontalpodautoscalers": horizontalpodautoscaler,
    "policy/poddisruptionbudgets": poddisruptionbudget,
    storage_defaults.PV_KEY: storage_defaults.persistentvolume,
    storage_defaults.PVC_KEY: storage_defaults.persistentvolumeclaim,
    "storage.k8s.io/storageclasses": storage_defaults.storageclass,
}


def apply_defaults(storage_key: str, obj: Object) -> None:
    defaulter = DEFAULTERS.get(storage_key)
    if defaulter is not None:
        defaulter(obj)
