"""The columns `kubectl get` shows for each kind, and how each cell is written: upstream's
printers (pkg/printers/internalversion) for the kinds nodelab serves. `PRINTERS` maps a
storage key to its columns (priority 1: only with `-o wide`) and its row function; `tables.py`
builds the Table responses from them.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from nodelab.controlplane.http.network_printers import NETWORKING_PRINTERS
from nodelab.controlplane.http.pod_status import pod_status, readiness_gates
from nodelab.controlplane.http.storage_printers import STORAGE_PRINTERS
from nodelab.kube.objects import Object
from nodelab.kube.quantities import InvalidQuantity, canonical_text
from nodelab.kubewire.times import age, human_duration, parse_time

Column = tuple[str, str, int]  # name, type, priority


def _age(obj: Object) -> str:
    return age((obj.get("metadata") or {}).get("creationTimestamp"))


def _name(obj: Object) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _pod_row(pod: Object) -> list[Any]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    gates = spec.get("readinessGates") or []
    return [_name(pod), f"{ready}/{len(spec.get('containers') or [])}", pod_status(pod),
            restarts, _age(pod), status.get("podIP") or "<none>", spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>",
            readiness_gates(gates, status.get("conditions") or [])]


def _node_row(node: Object) -> list[Any]:
    status, meta = node.get("status") or {}, node.get("metadata") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    state = "Ready" if ready and ready.get("status") == "True" else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in (meta.get("labels") or {})
                   if k.startswith("node-role.kubernetes.io/"))
    info = status.get("nodeInfo") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    return [_name(node), state, ",".join(roles) or "<none>", _age(node),
            info.get("kubeletVersion", ""), addresses.get("InternalIP", "<none>"),
            addresses.get("ExternalIP", "<none>"), info.get("osImage", "<unknown>"),
            info.get("kernelVersion", "<unknown>"), info.get("containerRuntimeVersion",
                                                               "<unknown>")]


def _ports(ports: list[Object]) -> str:
    parts = []
    for p in ports:
        text = f"{p.get('port')}"
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        parts.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _service_row(svc: Object) -> list[Any]:
    spec = svc.get("spec") or {}
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress)
    if not external:
        external = spec.get("externalName") or ",".join(spec.get("externalIPs") or []) or (
            "<pending>" if spec.get("type") == "LoadBalancer" else "<none>")
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return [_name(svc), spec.get("type", ""), spec.get("clusterIP") or "<none>", external,
            _ports(spec.get("ports") or []), _age(svc), selector or "<none>"]


def _containers(obj: Object) -> tuple[str, str]:
    containers = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers") or []
    return (",".join(c.get("name", "") for c in containers),
            ",".join(c.get("image", "") for c in containers))


def _selector(obj: Object) -> str:
    selector = (obj.get("spec") or {}).get("selector") or {}
    return ",".join(f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items()))


def _deployment_row(obj: Object) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(obj)
    return [_name(obj), f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0), _age(obj),
            names, images, _selector(obj)]


def _replicaset_row(obj: Object) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(obj)
    return [_name(obj), spec.get("replicas", 0), status.get("replicas", 0),
            status.get("readyReplicas", 0), _age(obj), names, images, _selector(obj)]


def _job_status(obj: Object) -> str:
    true = {c.get("type") for c in (obj.get("status") or {}).get("conditions") or []
            if c.get("status") == "True"}
    for kind, text in (("Complete", "Complete"), ("Failed", "Failed")):
        if kind in true:
            return text
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    for kind in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if kind in true:
            return kind
    return "Running"


def _job_row(obj: Object) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    succeeded = status.get("succeeded", 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif int(spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    duration = ""
    start = parse_time(status.get("startTime"))
    if start is not None:
        end = parse_time(status.get("completionTime")) or datetime.datetime.now(
            datetime.timezone.utc)
        duration = human_duration(max(int((end - start).total_seconds()), 0))
    names, images = _containers(obj)
    return [_name(obj), _job_status(obj), completions, duration, _age(obj), names, images,
            _selector(obj)]


def _rc_row(obj: Object) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(obj)
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return [_name(obj), spec.get("replicas", 0), status.get("replicas", 0),
            status.get("readyReplicas", 0), _age(obj), names, images, selector or "<none>"]


def _daemonset_row(obj: Object) -> list[Any]:
    status = obj.get("status") or {}
    names, images = _containers(obj)
    node_selector = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "nodeSelector") or {}
    shown = ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or "<none>"
    return [_name(obj), status.get("desiredNumberScheduled", 0),
            status.get("currentNumberScheduled", 0), status.get("numberReady", 0),
            status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0), shown,
            _age(obj), names, images, _selector(obj)]


def _revision_row(obj: Object) -> list[Any]:
    owner = next((r for r in (obj.get("metadata") or {}).get("ownerReferences") or []
                  if r.get("controller")), None)
    controller = "<none>"
    if owner is not None:
        group = str(owner.get("apiVersion", "")).rpartition("/")[0]
        kind = str(owner.get("kind", "")).lower() + (f".{group}" if group else "")
        controller = f"{kind}/{owner.get('name')}"
    return [_name(obj), controller, obj.get("revision", 0), _age(obj)]


def _cronjob_row(obj: Object) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    names, images = _containers({"spec": job_spec})
    last = status.get("lastScheduleTime")
    return [_name(obj), spec.get("schedule", ""), spec.get("timeZone") or "<none>",
            "True" if spec.get("suspend") else "False", len(status.get("active") or []),
            age(last) if last else "<none>", _age(obj), names, images,
            _selector({"spec": job_spec}) or "<none>"]


def _endpoints_row(obj: Object) -> list[Any]:
    found = [f"{a.get('ip')}:{p.get('port')}" for s in obj.get("subsets") or []
             for a in s.get("addresses") or [] for p in s.get("ports") or [{}]]
    text = ",".join(found[:3]) + (f" + {len(found) - 3} more..." if len(found) > 3 else "")
    return [_name(obj), text or "<none>", _age(obj)]


def _slice_row(obj: Object) -> list[Any]:
    ports = ",".join(str(p.get("port")) for p in obj.get("ports") or []) or "<unset>"
    addresses = [a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
    text = ",".join(addresses[:3]) + (f" + {len(addresses) - 3} more..."
                                      if len(addresses) > 3 else "")
    return [_name(obj), obj.get("addressType", ""), ports, text or "<unset>", _age(obj)]


def _event_row(obj: Object) -> list[Any]:
    """printEvent (wide, as the server always prints): last and first seen, the count (a
    series' when there is one), the source as `component, host`."""
    ref = obj.get("involvedObject") or {}
    first = age(obj.get("firstTimestamp") or obj.get("eventTime"))
    last = age(obj["lastTimestamp"]) if obj.get("lastTimestamp") else first
    count = obj.get("count") or 1
    series = obj.get("series")
    if series:
        last, count = age(series.get("lastObservedTime")), series.get("count") or 1
    name = ref.get("name", "")
    target = f"{str(ref.get('kind', '')).lower()}/{name}" if name else str(
        ref.get("kind", "")).lower()
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    instance = source.get("host") or obj.get("reportingInstance") or ""
    return [last, obj.get("type", ""), obj.get("reason", ""), target,
            ref.get("fieldPath", ""), f"{component}, {instance}" if instance else component,
            str(obj.get("message", "")).strip(), first, int(count), _name(obj)]


def _csr_row(csr: Object) -> list[Any]:
    spec = csr.get("spec") or {}
    seconds = spec.get("expirationSeconds")
    duration = "<none>"
    if isinstance(seconds, int):
        duration = human_duration(seconds)
    conditions = [str(c.get("type")) for c in (csr.get("status") or {}).get("conditions") or []
                  if c.get("status", "True") == "True"]
    if (csr.get("status") or {}).get("certificate"):
        conditions.append("Issued")
    return [_name(csr), _age(csr), spec.get("signerName", ""), spec.get("username", ""),
            duration, ",".join(conditions) or "Pending"]


def _apiservice_row(obj: Object) -> list[Any]:
    """kube-aggregator's columns: the Service (or Local) and the Available condition."""
    service = (obj.get("spec") or {}).get("service")
    where = f"{service.get('namespace', '')}/{service.get('name', '')}" if service else "Local"
    available = next((c for c in (obj.get("status") or {}).get("conditions") or []
                      if c.get("type") == "Available"), None)
    shown = "Unknown"
    if available is not None:
        shown = str(available.get("status", ""))
        if shown != "True":
            shown += f" ({available.get('reason', '')})"
    return [_name(obj), where, shown, _age(obj)]


def _hpa_targets(obj: Object) -> str:
    """kubectl's TARGETS column: `cpu: 45%/50%` (current/target) per resource metric."""
    current = {m.get("resource", {}).get("name"): m.get("resource", {}).get("current") or {}
               for m in (obj.get("status") or {}).get("currentMetrics") or []
               if m.get("type") == "Resource"}
    shown = []
    for metric in (obj.get("spec") or {}).get("metrics") or []:
        if metric.get("type") != "Resource":
            shown.append(f"<{str(metric.get('type', '')).lower()}>")
            continue
        name = metric.get("resource", {}).get("name", "")
        target = metric.get("resource", {}).get("target") or {}
        now = current.get(name)
        if target.get("type") == "Utilization":
            value = f"{now['averageUtilization']}%" if now and "averageUtilization" in now \
                else "<unknown>"
            shown.append(f"{name}: {value}/{target.get('averageUtilization')}%")
        else:
            value = now.get("averageValue", "<unknown>") if now else "<unknown>"
            shown.append(f"{name}: {value}/{target.get('averageValue')}")
    return ", ".join(shown) or "<none>"


def _hpa_row(obj: Object) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    return [_name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}", _hpa_targets(obj),
            spec.get("minReplicas", "<unset>"), spec.get("maxReplicas", 0),
            status.get("currentReplicas", 0), _age(obj)]


def _pdb_row(obj: Object) -> list[Any]:
    """upstream's printPodDisruptionBudget: `N/A` for the bound not set."""
    spec = obj.get("spec") or {}
    shown = ["N/A" if spec.get(key) is None else str(spec[key])
             for key in ("minAvailable", "maxUnavailable")]
    return [_name(obj), *shown, int((obj.get("status") or {}).get("disruptionsAllowed") or 0),
            _age(obj)]


def _priority_class_row(pc: Object) -> list[Any]:
    return [_name(pc), int(pc.get("value") or 0), bool(pc.get("globalDefault")), _age(pc),
            pc.get("preemptionPolicy") or ""]


def _quota_row(quota: Object) -> list[Any]:
    """upstream's printResourceQuota: `name: used/hard` of each hard resource, sorted, the
    `limits.*` ones in the Limit column."""
    status = quota.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    request: list[str] = []
    limit: list[str] = []
    for name in sorted(hard):
        cell = f"{name}: {_quantity(used.get(name, '0'))}/{_quantity(hard[name])}"
        (limit if name.split(".")[0] == "limits" and "." in name else request).append(cell)
    return [_name(quota), _age(quota), ", ".join(request), ", ".join(limit)]


def _quantity(text: object) -> str:
    try:
        return canonical_text(text)
    except InvalidQuantity:
        return str(text)


S, I_ = "string", "integer"
PRINTERS: dict[str, tuple[list[Column], Callable[[Object], list[Any]]]] = {
    "core/pods": ([("Name", S, 0), ("Ready", S, 0), ("Status", S, 0), ("Restarts", S, 0),
                   ("Age", S, 0), ("IP", S, 1), ("Node", S, 1), ("Nominated Node", S, 1),
                   ("Readiness Gates", S, 1)], _pod_row),
    "scheduling.k8s.io/priorityclasses": ([("Name", S, 0), ("Value", I_, 0),
                                           ("Global-Default", "boolean", 0), ("Age", S, 0),
                                           ("PreemptionPolicy", S, 0)], _priority_class_row),
    "core/nodes": ([("Name", S, 0), ("Status", S, 0), ("Roles", S, 0), ("Age", S, 0),
                    ("Version", S, 0), ("Internal-IP", S, 1), ("External-IP", S, 1),
                    ("OS-Image", S, 1), ("Kernel-Version", S, 1),
                    ("Container-Runtime", S, 1)], _node_row),
    "core/services": ([("Name", S, 0), ("Type", S, 0), ("Cluster-IP", S, 0),
                       ("External-IP", S, 0), ("Port(s)", S, 0), ("Age", S, 0),
                       ("Selector", S, 1)], _service_row),
    "apps/deployments": ([("Name", S, 0), ("Ready", S, 0), ("Up-to-date", I_, 0),
                          ("Available", I_, 0), ("Age", S, 0), ("Containers", S, 1),
                          ("Images", S, 1), ("Selector", S, 1)], _deployment_row),
    "apps/replicasets": ([("Name", S, 0), ("Desired", I_, 0), ("Current", I_, 0),
                          ("Ready", I_, 0), ("Age", S, 0), ("Containers", S, 1),
                          ("Images", S, 1), ("Selector", S, 1)], _replicaset_row),
    "apps/daemonsets": ([("Name", S, 0), ("Desired", I_, 0), ("Current", I_, 0),
                         ("Ready", I_, 0), ("Up-to-date", I_, 0), ("Available", I_, 0),
                         ("Node Selector", S, 0), ("Age", S, 0), ("Containers", S, 1),
                         ("Images", S, 1), ("Selector", S, 1)], _daemonset_row),
    "core/replicationcontrollers": ([("Name", S, 0), ("Desired", I_, 0), ("Current", I_, 0),
                                     ("Ready", I_, 0), ("Age", S, 0), ("Containers", S, 1),
                                     ("Images", S, 1), ("Selector", S, 1)], _rc_row),
    "apps/statefulsets": ([("Name", S, 0), ("Ready", S, 0), ("Age", S, 0),
                           ("Containers", S, 1), ("Images", S, 1)],
                          lambda o: [_name(o), f"{(o.get('status') or {}).get('readyReplicas', 0)}"
                                     f"/{(o.get('spec') or {}).get('replicas', 0)}", _age(o),
                                     *_containers(o)]),
    "apps/controllerrevisions": ([("Name", S, 0), ("Controller", S, 0), ("Revision", I_, 0),
                                  ("Age", S, 0)], _revision_row),
    "batch/cronjobs": ([("Name", S, 0), ("Schedule", S, 0), ("Timezone", S, 0),
                        ("Suspend", S, 0), ("Active", I_, 0), ("Last Schedule", S, 0),
                        ("Age", S, 0), ("Containers", S, 1), ("Images", S, 1),
                        ("Selector", S, 1)], _cronjob_row),
    "batch/jobs": ([("Name", S, 0), ("Status", S, 0), ("Completions", S, 0),
                    ("Duration", S, 0), ("Age", S, 0), ("Containers", S, 1), ("Images", S, 1),
                    ("Selector", S, 1)], _job_row),
    "core/namespaces": ([("Name", S, 0), ("Status", S, 0), ("Age", S, 0)],
                        lambda o: [_name(o), (o.get("status") or {}).get("phase", ""),
                                   _age(o)]),
    "core/endpoints": ([("Name", S, 0), ("Endpoints", S, 0), ("Age", S, 0)], _endpoints_row),
    "discovery.k8s.io/endpointslices": ([("Name", S, 0), ("AddressType", S, 0),
                                         ("Ports", S, 0), ("Endpoints", S, 0), ("Age", S, 0)],
                                        _slice_row),
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
         ("RequestedDuration", S, 0), ("Condition", S, 0)], _csr_row),
    "autoscaling/horizontalpodautoscalers": ([("Name", S, 0), ("Reference", S, 0),
                                              ("Targets", S, 0), ("MinPods", S, 0),
                                              ("MaxPods", I_, 0), ("Replicas", I_, 0),
                                              ("Age", S, 0)], _hpa_row),
    "policy/poddisruptionbudgets": ([("Name", S, 0), ("Min Available", S, 0),
                                     ("Max Unavailable", S, 0), ("Allowed Disruptions", I_, 0),
                                     ("Age", S, 0)], _pdb_row),
    **NETWORKING_PRINTERS,
    "apiregistration.k8s.io/apiservices": ([("Name", S, 0), ("Service", S, 0),
                                            ("Available", S, 0), ("Age", S, 0)],
                                           _apiservice_row),
    "core/resourcequotas": ([("Name", S, 0), ("Age", S, 0), ("Request", S, 0),
                             ("Limit", S, 0)], _quota_row),
    "core/events": ([("Last Seen", S, 0), ("Type", S, 0), ("Reason", S, 0), ("Object", S, 0),
                     ("Subobject", S, 1), ("Source", S, 1), ("Message", S, 0),
                     ("First Seen", S, 1), ("Count", S, 1), ("Name", S, 1)], _event_row),
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
