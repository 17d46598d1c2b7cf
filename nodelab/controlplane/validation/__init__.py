"""Validation as upstream does it: every bad field of an object, reported at once.

`validate(storage_key, obj, old)` returns the list of causes (empty when valid). The REST layer
turns a non-empty list into a 422 `Invalid` Status naming each field, as kube-apiserver does.
Object metadata (name format, labels, annotations) is checked here for every kind; each kind's
own checks live in a module named after it, and `KINDS` says which run on create and on update.
"""

from __future__ import annotations

import json
from collections.abc import Callable

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
from nodelab.controlplane.validation.networking.ingresses import (
    validate_ingress,
    validate_ingress_update,
    validate_ingressclass,
)
from nodelab.controlplane.validation.networking.networkpolicies import validate_networkpolicy
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
from nodelab.controlplane.validation.quotas import validate_limitrange, validate_resourcequota
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
from nodelab.controlplane.validation.storage.persistentvolumes import (
    validate_persistentvolume,
    validate_persistentvolume_update,
    validate_persistentvolumeclaim,
    validate_persistentvolumeclaim_update,
)
from nodelab.controlplane.validation.storage.storageclasses import (
    validate_storageclass,
    validate_storageclass_update,
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


Create = Callable[[FieldErrors, Object], None]
Update = Callable[[FieldErrors, Object, Object], None]


def _reading_old(check: Callable[[FieldErrors, Object, Object | None], None]
                 ) -> tuple[Create, Update]:
    """A kind with one check that also reads the old object, when there is one."""
    return (lambda errors, obj: check(errors, obj, None), check)


def _as_created(check: Create) -> tuple[Create, Update]:
    """A kind whose updates are checked as its creates are."""
    return (check, lambda errors, obj, _old: check(errors, obj))


def _immutable_data(check: Create) -> tuple[Create, Update]:
    """Secrets and ConfigMaps: an update is also checked against `immutable`."""
    def update(errors: FieldErrors, obj: Object, old: Object) -> None:
        check(errors, obj)
        validate_immutable_data(errors, obj, old)
    return (check, update)


def _workload(kind: str) -> tuple[Create, Update]:
    return (lambda errors, obj: validate_workload(errors, obj, kind),
            lambda errors, obj, old: validate_workload_update(errors, obj, old, kind))


def _rbac(check: Callable[[FieldErrors, Object, bool], None], namespaced: bool
          ) -> tuple[Create, Update]:
    return _as_created(lambda errors, obj: check(errors, obj, namespaced))


def _bindings(namespaced: bool) -> tuple[Create, Update]:
    return (lambda errors, obj: validate_binding(errors, obj, namespaced),
            lambda errors, obj, old: validate_binding_update(errors, obj, old, namespaced))


# Each kind's own checks, on create and on update (upstream's strategies' Validate and
# ValidateUpdate); a kind not named here has only the metadata checks.
KINDS: dict[str, tuple[Create, Update]] = {
    "core/pods": (validate_pod, validate_pod_update),
    "core/services": (
        lambda errors, obj: validate_service(errors, obj, SERVICE_CIDR),
        lambda errors, obj, old: validate_service_update(errors, obj, old, SERVICE_CIDR)),
    "apps/deployments": _workload("Deployment"),
    "apps/replicasets": _workload("ReplicaSet"),
    "apps/daemonsets": (validate_daemonset, validate_daemonset_update),
    "core/replicationcontrollers": _reading_old(validate_replicationcontroller),
    "apps/statefulsets": (validate_statefulset, validate_statefulset_update),
    "apps/controllerrevisions": _reading_old(validate_controllerrevision),
    "batch/cronjobs": _as_created(validate_cronjob),
    "batch/jobs": (validate_job, validate_job_update),
    "core/nodes": (validate_node, validate_node_update),
    "core/secrets": _immutable_data(validate_secret),
    "core/configmaps": _immutable_data(validate_data),
    "core/events": _as_created(validate_event),
    "discovery.k8s.io/endpointslices": _as_created(validate_endpointslice),
    "core/endpoints": _as_created(validate_endpoints),
    "coordination.k8s.io/leases": _as_created(validate_lease),
    "autoscaling/horizontalpodautoscalers": _as_created(validate_hpa),
    "policy/poddisruptionbudgets": _reading_old(validate_pdb),
    "networking.k8s.io/networkpolicies": _reading_old(validate_networkpolicy),
    "networking.k8s.io/ingresses": (validate_ingress, validate_ingress_update),
    "networking.k8s.io/ingressclasses": _reading_old(validate_ingressclass),
    "apiregistration.k8s.io/apiservices": _as_created(validate_apiservice),
    "scheduling.k8s.io/priorityclasses": _reading_old(validate_priorityclass),
    ROLES: _rbac(validate_role, True),
    CLUSTER_ROLES: _rbac(validate_role, False),
    ROLE_BINDINGS: _bindings(True),
    CLUSTER_ROLE_BINDINGS: _bindings(False),
    CSR_KEY: (validate_csr, validate_csr_update),
    "core/persistentvolumes": (validate_persistentvolume, validate_persistentvolume_update),
    "core/persistentvolumeclaims": (validate_persistentvolumeclaim,
                                    validate_persistentvolumeclaim_update),
    "storage.k8s.io/storageclasses": (validate_storageclass, validate_storageclass_update),
    "core/limitranges": _as_created(validate_limitrange),
    "core/resourcequotas": _reading_old(validate_resourcequota),
}


def validate(storage_key: str, obj: Object, old: Object | None = None) -> list[Cause]:
    errors = FieldErrors()
    _metadata(errors, storage_key, obj)
    checks = KINDS.get(storage_key)
    if checks is not None:
        create, update = checks
        if old is None:
            create(errors, obj)
        else:
            update(errors, obj, old)
    return errors.causes
