"""Validation as upstream does it: every bad field of an object, reported at once.

`validate(storage_key, obj, old)` returns the list of causes (empty when valid). The REST layer
turns a non-empty list into a 422 `Invalid` Status naming each field, as kube-apiserver does.
Object metadata (name format, labels, annotations) is checked here for every kind; each kind's
own checks live in a module named after it.
"""

from __future__ import annotations

import json

from nodelab.controlplane.errors import Cause
from nodelab.controlplane.validation.apiservices import validate_apiservice
from nodelab.controlplane.validation.autoscaling import validate_hpa
from nodelab.controlplane.validation.certificates import validate_csr, validate_csr_update
from nodelab.controlplane.validation.cronjobs import validate_cronjob
from nodelab.controlplane.validation.daemonsets import (
    validate_controllerrevision,
    validate_daemonset,
    validate_daemonset_update,
)
from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.jobs import validate_job, validate_job_update
from nodelab.controlplane.validation.others import (
    validate_data,
    validate_endpoints,
    validate_endpointslice,
    validate_event,
    validate_immutable_data,
    validate_lease,
    validate_node,
    validate_node_update,
    validate_secret,
)
from nodelab.controlplane.validation.pods import validate_pod, validate_pod_update
from nodelab.controlplane.validation.policy import validate_pdb
from nodelab.controlplane.validation.priorityclasses import validate_priorityclass
from nodelab.controlplane.validation.rbac import (
    validate_binding,
    validate_binding_update,
    validate_role,
)
from nodelab.controlplane.validation.services import validate_service, validate_service_update
from nodelab.controlplane.validation.statefulsets import (
    validate_statefulset,
    validate_statefulset_update,
)
from nodelab.controlplane.validation.workloads import (
    validate_replicationcontroller,
    validate_workload,
    validate_workload_update,
)
from nodelab.kube.objects import Object

SERVICE_CIDR = "10.96.0.0/16"
CSR_KEY = "certificates.k8s.io/certificatesigningrequests"
ROLES, CLUSTER_ROLES = "rbac.authorization.k8s.io/roles", "rbac.authorization.k8s.io/clusterroles"
ROLE_BINDINGS = "rbac.authorization.k8s.io/rolebindings"
CLUSTER_ROLE_BINDINGS = "rbac.authorization.k8s.io/clusterrolebindings"
_PATH_SEGMENT_NAMES = ("core/events", "coordination.k8s.io/leases",
                       "apiregistration.k8s.io/apiservices")


def _metadata(errors: FieldErrors, storage_key: str, obj: Object) -> None:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        errors.required("metadata")
        return
    name = meta.get("name")
    if not name:
        errors.required("metadata.name", "name or generateName is required")
    elif storage_key == "core/services":
        errors.dns1035_label("metadata.name", name)
    elif storage_key == "core/namespaces":
        errors.dns1123_label("metadata.name", name)
    else:
        found = len(errors.causes)
        errors.path_segment_name("metadata.name", name)
        # RBAC, Event, Lease and APIService names are path segments only
        # (`system:basic-user`, `v1.`), as upstream; the others DNS subdomains
        if len(errors.causes) == found and storage_key not in _PATH_SEGMENT_NAMES and (
                not storage_key.startswith("rbac.authorization.k8s.io/")):
            errors.dns1123_subdomain("metadata.name", name)
    errors.labels("metadata.labels", meta.get("labels"))
    annotations = meta.get("annotations")
    if annotations is not None:
        if not isinstance(annotations, dict):
            errors.invalid("metadata.annotations", annotations, "must be a map of strings")
        else:
            for key in annotations:
                errors.qualified_name("metadata.annotations", key)
            if len(json.dumps(annotations)) > 256 * 1024:
                errors.too_long("metadata.annotations", 256 * 1024)
    for i, finalizer in enumerate(meta.get("finalizers") or []):
        errors.qualified_name(f"metadata.finalizers[{i}]", finalizer)


def validate(storage_key: str, obj: Object, old: Object | None = None) -> list[Cause]:
    errors = FieldErrors()
    _metadata(errors, storage_key, obj)
    if storage_key == "core/pods":
        if old is None:
            validate_pod(errors, obj)
        else:
            validate_pod_update(errors, obj, old)
    elif storage_key == "core/services":
        if old is None:
            validate_service(errors, obj, SERVICE_CIDR)
        else:
            validate_service_update(errors, obj, old, SERVICE_CIDR)
    elif storage_key in ("apps/deployments", "apps/replicasets"):
        kind = "Deployment" if storage_key == "apps/deployments" else "ReplicaSet"
        if old is None:
            validate_workload(errors, obj, kind)
        else:
            validate_workload_update(errors, obj, old, kind)
    elif storage_key == "apps/daemonsets":
        if old is None:
            validate_daemonset(errors, obj)
        else:
            validate_daemonset_update(errors, obj, old)
    elif storage_key == "core/replicationcontrollers":
        validate_replicationcontroller(errors, obj, old)
    elif storage_key == "apps/statefulsets":
        if old is None:
            validate_statefulset(errors, obj)
        else:
            validate_statefulset_update(errors, obj, old)
    elif storage_key == "apps/controllerrevisions":
        validate_controllerrevision(errors, obj, old)
    elif storage_key == "batch/cronjobs":
        validate_cronjob(errors, obj)
    elif storage_key == "batch/jobs":
        if old is None:
            validate_job(errors, obj)
        else:
            validate_job_update(errors, obj, old)
    elif storage_key == "core/nodes":
        if old is None:
            validate_node(errors, obj)
        else:
            validate_node_update(errors, obj, old)
    elif storage_key == "core/secrets":
        validate_secret(errors, obj)
        if old is not None:
            validate_immutable_data(errors, obj, old)
    elif storage_key == "core/events":
        validate_event(errors, obj)
    elif storage_key == "discovery.k8s.io/endpointslices":
        validate_endpointslice(errors, obj)
    elif storage_key == "core/endpoints":
        validate_endpoints(errors, obj)
    elif storage_key == "core/configmaps":
        validate_data(errors, obj)
        if old is not None:
            validate_immutable_data(errors, obj, old)
    elif storage_key == "coordination.k8s.io/leases":
        validate_lease(errors, obj)
    elif storage_key == "autoscaling/horizontalpodautoscalers":
        validate_hpa(errors, obj)
    elif storage_key == "policy/poddisruptionbudgets":
        validate_pdb(errors, obj, old)
    elif storage_key == "apiregistration.k8s.io/apiservices":
        validate_apiservice(errors, obj)
    elif storage_key == "scheduling.k8s.io/priorityclasses":
        validate_priorityclass(errors, obj, old)
    elif storage_key in (ROLES, CLUSTER_ROLES):
        validate_role(errors, obj, storage_key == ROLES)
    elif storage_key in (ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS):
        if old is None:
            validate_binding(errors, obj, storage_key == ROLE_BINDINGS)
        else:
            validate_binding_update(errors, obj, old, storage_key == ROLE_BINDINGS)
    elif storage_key == CSR_KEY:
        if old is None:
            validate_csr(errors, obj)
        else:
            validate_csr_update(errors, obj, old)
    return errors.causes
