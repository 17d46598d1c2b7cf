"""Defaulting of the other kinds (Services, Nodes, Namespaces, Secrets, endpoints, HPAs,
APIServices, PDBs, LimitRanges, PriorityClasses, networking and RBAC objects), as upstream's
`SetDefaults_*` of their groups."""

from __future__ import annotations

import base64

from nodelab.kube.objects import Object


def service(obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if "port" in port:
                port.setdefault("targetPort", port["port"])
    obj.setdefault("status", {}).setdefault("loadBalancer", {})


def node(obj: Object) -> None:
    status = obj.get("status")
    if isinstance(status, dict) and isinstance(status.get("capacity"), dict):
        status.setdefault("allocatable", dict(status["capacity"]))


def namespace(obj: Object) -> None:
    name = (obj.get("metadata") or {}).get("name")
    if name:
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")


def secret(obj: Object) -> None:
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _ports(obj: Object, key: str) -> None:
    for holder in obj.get(key) or []:
        for port in (holder or {}).get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")


def endpoints(obj: Object) -> None:
    _ports(obj, "subsets")


def endpointslice(obj: Object) -> None:
    for port in obj.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")


def horizontalpodautoscaler(obj: Object) -> None:
    """autoscaling/v2 defaults: minReplicas 1, and CPU at 80 % when no metric is given."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]


def apiservice(obj: Object) -> None:
    service = (obj.get("spec") or {}).get("service")
    if isinstance(service, dict):
        service.setdefault("port", 443)


def poddisruptionbudget(obj: Object) -> None:
    """policy/v1 has no spec defaults; the four status counters are not omitempty in Go (the
    Python client refuses a status without them), so a new budget starts at zero."""
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        for key in ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"):
            status.setdefault(key, 0)


def resourcequota(obj: Object) -> None:
    """A quota's status is a struct in Go (never omitted): kube-apiserver returns `status: {}`
    until the quota controller fills `hard` and `used`."""
    obj.setdefault("status", {})


def limitrange(obj: Object) -> None:
    """core/v1 `SetDefaults_LimitRangeItem`: a `Container` item's `default` limit is its `max`
    where unset, its `defaultRequest` the `default`, else the `min`."""
    spec = obj.get("spec")
    items = (spec.get("limits") if isinstance(spec, dict) else None) or []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("type") != "Container":
            continue
        default, request = item.get("default") or {}, item.get("defaultRequest") or {}
        if not isinstance(default, dict) or not isinstance(request, dict):
            continue  # validation names the malformed field
        for source, target in ((item.get("max"), default), (default, request),
                               (item.get("min"), request)):
            for name, value in (source if isinstance(source, dict) else {}).items():
                target.setdefault(name, value)
        for key, values in (("default", default), ("defaultRequest", request)):
            if values:
                item[key] = values


def priorityclass(obj: Object) -> None:
    obj.setdefault("preemptionPolicy", "PreemptLowerPriority")


def networkpolicy(obj: Object) -> None:
    """networking/v1 `SetDefaults_NetworkPolicy` and `_NetworkPolicyPort`: without
    policyTypes a policy is an Ingress policy, and an Egress one too when it has egress rules;
    a port's protocol is TCP. `spec` and `spec.podSelector` are not omitempty in Go: a
    policy without them is stored with `{}` (which selects every pod of its namespace)."""
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("podSelector", {})
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or []:
            for port in (rule.get("ports") or []) if isinstance(rule, dict) else []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")


def ingressclass(obj: Object) -> None:
    """networking/v1 `SetDefaults_IngressClass`: parameters without a scope are Cluster's."""
    parameters = (obj.get("spec") or {}).get("parameters") if isinstance(
        obj.get("spec"), dict) else None
    if isinstance(parameters, dict) and parameters.get("scope") is None:
        parameters["scope"] = "Cluster"


def ingress(obj: Object) -> None:
    """An Ingress's status is a struct in Go (not omitted): `loadBalancer: {}` until a
    controller writes an address (none does in a lab: there is no Ingress controller)."""
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("loadBalancer", {})


def role_binding(obj: Object) -> None:
    """rbac/v1 `SetDefaults_RoleBinding`/`_ClusterRoleBinding` and `SetDefaults_Subject`:
    roleRef's apiGroup, and a User's or Group's, is `rbac.authorization.k8s.io`."""
    ref = obj.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = RBAC_GROUP
    for subject in obj.get("subjects") or []:
        if isinstance(subject, dict) and not subject.get("apiGroup") and (
                subject.get("kind") in ("User", "Group")):
            subject["apiGroup"] = RBAC_GROUP


RBAC_GROUP = "rbac.authorization.k8s.io"
