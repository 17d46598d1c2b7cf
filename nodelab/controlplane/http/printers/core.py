"""The `kubectl get` rows of core/v1 and the other groups' kinds without a printer module of
their own (upstream's printPod, printNode, printService, printEvent, ...)."""

from __future__ import annotations

from typing import Any

from nodelab.controlplane.http.printers.cells import object_age as _age
from nodelab.controlplane.http.printers.cells import object_name as _name
from nodelab.controlplane.http.printers.pod_status import pod_status, readiness_gates
from nodelab.kube.objects import Object
from nodelab.kube.quantities import InvalidQuantity, canonical_text
from nodelab.kubewire.times import age, human_duration


def pod_row(pod: Object) -> list[Any]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    gates = spec.get("readinessGates") or []
    return [_name(pod), f"{ready}/{len(spec.get('containers') or [])}", pod_status(pod),
            restarts, _age(pod), status.get("podIP") or "<none>", spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>",
            readiness_gates(gates, status.get("conditions") or [])]


def node_row(node: Object) -> list[Any]:
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


def service_row(svc: Object) -> list[Any]:
    spec = svc.get("spec") or {}
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress)
    if not external:
        external = spec.get("externalName") or ",".join(spec.get("externalIPs") or []) or (
            "<pending>" if spec.get("type") == "LoadBalancer" else "<none>")
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return [_name(svc), spec.get("type", ""), spec.get("clusterIP") or "<none>", external,
            _ports(spec.get("ports") or []), _age(svc), selector or "<none>"]


def endpoints_row(obj: Object) -> list[Any]:
    found = [f"{a.get('ip')}:{p.get('port')}" for s in obj.get("subsets") or []
             for a in s.get("addresses") or [] for p in s.get("ports") or [{}]]
    text = ",".join(found[:3]) + (f" + {len(found) - 3} more..." if len(found) > 3 else "")
    return [_name(obj), text or "<none>", _age(obj)]


def slice_row(obj: Object) -> list[Any]:
    ports = ",".join(str(p.get("port")) for p in obj.get("ports") or []) or "<unset>"
    addresses = [a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
    text = ",".join(addresses[:3]) + (f" + {len(addresses) - 3} more..."
                                      if len(addresses) > 3 else "")
    return [_name(obj), obj.get("addressType", ""), ports, text or "<unset>", _age(obj)]


def event_row(obj: Object) -> list[Any]:
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


def csr_row(csr: Object) -> list[Any]:
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


def apiservice_row(obj: Object) -> list[Any]:
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


def hpa_row(obj: Object) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    return [_name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}", _hpa_targets(obj),
            spec.get("minReplicas", "<unset>"), spec.get("maxReplicas", 0),
            status.get("currentReplicas", 0), _age(obj)]


def pdb_row(obj: Object) -> list[Any]:
    """upstream's printPodDisruptionBudget: `N/A` for the bound not set."""
    spec = obj.get("spec") or {}
    shown = ["N/A" if spec.get(key) is None else str(spec[key])
             for key in ("minAvailable", "maxUnavailable")]
    return [_name(obj), *shown, int((obj.get("status") or {}).get("disruptionsAllowed") or 0),
            _age(obj)]


def priority_class_row(pc: Object) -> list[Any]:
    return [_name(pc), int(pc.get("value") or 0), bool(pc.get("globalDefault")), _age(pc),
            pc.get("preemptionPolicy") or ""]


def quota_row(quota: Object) -> list[Any]:
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
