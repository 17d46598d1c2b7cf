"""The columns `kubectl get` shows for each kind, and how each cell is written: upstream's
printers (pkg/printers/internalversion) for the kinds nodelab serves. `PRINTERS` maps a
storage key to its columns (priority 1: only with `-o wide`) and its row function; `tables.py`
builds the Table responses from them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nodelab.controlplane.http.printers.cells import object_age as _age
from nodelab.controlplane.http.printers.cells import object_name as _name
from nodelab.controlplane.http.printers.core import (
    apiservice_row,
    csr_row,
    endpoints_row,
    event_row,
    hpa_row,
    node_row,
    pdb_row,
    pod_row,
    priority_class_row,
    quota_row,
    service_row,
    slice_row,
)
from nodelab.controlplane.http.printers.networking import NETWORKING_PRINTERS
from nodelab.controlplane.http.printers.storage import STORAGE_PRINTERS
from nodelab.controlplane.http.printers.workloads import (
    cronjob_row,
    daemonset_row,
    deployment_row,
    job_row,
    rc_row,
    replicaset_row,
    revision_row,
    template_containers,
)
from nodelab.kube.objects import Object

Column = tuple[str, str, int]  # name, type, priority

S, I_ = "string", "integer"
PRINTERS: dict[str, tuple[list[Column], Callable[[Object], list[Any]]]] = {
    "core/pods": ([("Name", S, 0), ("Ready", S, 0), ("Status", S, 0), ("Restarts", S, 0),
                   ("Age", S, 0), ("IP", S, 1), ("Node", S, 1), ("Nominated Node", S, 1),
                   ("Readiness Gates", S, 1)], pod_row),
    "scheduling.k8s.io/priorityclasses": ([("Name", S, 0), ("Value", I_, 0),
                                           ("Global-Default", "boolean", 0), ("Age", S, 0),
                                           ("PreemptionPolicy", S, 0)], priority_class_row),
    "core/nodes": ([("Name", S, 0), ("Status", S, 0), ("Roles", S, 0), ("Age", S, 0),
                    ("Version", S, 0), ("Internal-IP", S, 1), ("External-IP", S, 1),
                    ("OS-Image", S, 1), ("Kernel-Version", S, 1),
                    ("Container-Runtime", S, 1)], node_row),
    "core/services": ([("Name", S, 0), ("Type", S, 0), ("Cluster-IP", S, 0),
                       ("External-IP", S, 0), ("Port(s)", S, 0), ("Age", S, 0),
                       ("Selector", S, 1)], service_row),
    "apps/deployments": ([("Name", S, 0), ("Ready", S, 0), ("Up-to-date", I_, 0),
                          ("Available", I_, 0), ("Age", S, 0), ("Containers", S, 1),
                          ("Images", S, 1), ("Selector", S, 1)], deployment_row),
    "apps/replicasets": ([("Name", S, 0), ("Desired", I_, 0), ("Current", I_, 0),
                          ("Ready", I_, 0), ("Age", S, 0), ("Containers", S, 1),
                          ("Images", S, 1), ("Selector", S, 1)], replicaset_row),
    "apps/daemonsets": ([("Name", S, 0), ("Desired", I_, 0), ("Current", I_, 0),
                         ("Ready", I_, 0), ("Up-to-date", I_, 0), ("Available", I_, 0),
                         ("Node Selector", S, 0), ("Age", S, 0), ("Containers", S, 1),
                         ("Images", S, 1), ("Selector", S, 1)], daemonset_row),
    "core/replicationcontrollers": ([("Name", S, 0), ("Desired", I_, 0), ("Current", I_, 0),
                                     ("Ready", I_, 0), ("Age", S, 0), ("Containers", S, 1),
                                     ("Images", S, 1), ("Selector", S, 1)], rc_row),
    "apps/statefulsets": ([("Name", S, 0), ("Ready", S, 0), ("Age", S, 0),
                           ("Containers", S, 1), ("Images", S, 1)],
                          lambda o: [_name(o), f"{(o.get('status') or {}).get('readyReplicas', 0)}"
                                     f"/{(o.get('spec') or {}).get('replicas', 0)}", _age(o),
                                     *template_containers(o)]),
    "apps/controllerrevisions": ([("Name", S, 0), ("Controller", S, 0), ("Revision", I_, 0),
                                  ("Age", S, 0)], revision_row),
    "batch/cronjobs": ([("Name", S, 0), ("Schedule", S, 0), ("Timezone", S, 0),
                        ("Suspend", S, 0), ("Active", I_, 0), ("Last Schedule", S, 0),
                        ("Age", S, 0), ("Containers", S, 1), ("Images", S, 1),
                        ("Selector", S, 1)], cronjob_row),
    "batch/jobs": ([("Name", S, 0), ("Status", S, 0), ("Completions", S, 0),
                    ("Duration", S, 0), ("Age", S, 0), ("Containers", S, 1), ("Images", S, 1),
                    ("Selector", S, 1)], job_row),
    "core/namespaces": ([("Name", S, 0), ("Status", S, 0), ("Age", S, 0)],
                        lambda o: [_name(o), (o.get("status") or {}).get("phase", ""),
                                   _age(o)]),
    "core/endpoints": ([("Name", S, 0), ("Endpoints", S, 0), ("Age", S, 0)], endpoints_row),
    "discovery.k8s.io/endpointslices": ([("Name", S, 0), ("AddressType", S, 0),
                                         ("Ports", S, 0), ("Endpoints", S, 0), ("Age", S, 0)],
                                        slice_row),
    "core/configmaps": ([("Name", S, 0), ("Data", I_, 0), ("Age", S, 0)],
                        lambda o: [_name(o), len(o.get("data") or {}) + len(
                            o.get("binaryData") or {}), _age(o)]),
    "core/secrets": ([("Name", S, 0), ("Type", S, 0), ("Data", I_, 0), ("Age", S, 0)],
                     lambda o: [_name(o), o.get("type", ""), len(o.get("data") or {}),
                                _age(o)]),
    "core/serviceaccounts": ([("Name", S, 0), ("Secrets", I_, 0), ("Age", S, 0)],
                             lambda o: [_name(o), len(o.get("secrets") or []), _age(o)]),
    "coordination.k8s.io/leases": ([("Name", S, 0), ("Holder", S, 0), ("Age", S, 0)],
                                   lambda o: [_name(o), (o.get("spec") or {}).get(
                                       "holderIdentity", ""), _age(o)]),
    "certificates.k8s.io/certificatesigningrequests": (
        [("Name", S, 0), ("Age", S, 0), ("SignerName", S, 0), ("Requestor", S, 0),
         ("RequestedDuration", S, 0), ("Condition", S, 0)], csr_row),
    "autoscaling/horizontalpodautoscalers": ([("Name", S, 0), ("Reference", S, 0),
                                              ("Targets", S, 0), ("MinPods", S, 0),
                                              ("MaxPods", I_, 0), ("Replicas", I_, 0),
                                              ("Age", S, 0)], hpa_row),
    "policy/poddisruptionbudgets": ([("Name", S, 0), ("Min Available", S, 0),
                                     ("Max Unavailable", S, 0), ("Allowed Disruptions", I_, 0),
                                     ("Age", S, 0)], pdb_row),
    **NETWORKING_PRINTERS,
    "apiregistration.k8s.io/apiservices": ([("Name", S, 0), ("Service", S, 0),
                                            ("Available", S, 0), ("Age", S, 0)],
                                           apiservice_row),
    "core/resourcequotas": ([("Name", S, 0), ("Age", S, 0), ("Request", S, 0),
                             ("Limit", S, 0)], quota_row),
    "core/events": ([("Last Seen", S, 0), ("Type", S, 0), ("Reason", S, 0), ("Object", S, 0),
                     ("Subobject", S, 1), ("Source", S, 1), ("Message", S, 0),
                     ("First Seen", S, 1), ("Count", S, 1), ("Name", S, 1)], event_row),
    # no printer of their own upstream: the default table convertor's Name and Created At
    "core/limitranges": ([("Name", S, 0), ("Created At", "date", 0)],
                         lambda o: [_name(o), (o.get("metadata") or {}).get("creationTimestamp")]),
    "apiextensions.k8s.io/customresourcedefinitions": (
        [("Name", S, 0), ("Created At", "date", 0)],
        lambda o: [_name(o), (o.get("metadata") or {}).get("creationTimestamp")]),
    **STORAGE_PRINTERS,
}
DEFAULT_PRINTER: tuple[list[Column], Callable[[Object], list[Any]]] = (
    [("Name", S, 0), ("Age", S, 0)], lambda o: [_name(o), _age(o)])
