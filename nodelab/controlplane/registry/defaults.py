"""Defaulting, as upstream's `SetDefaults_*` functions and default admission plugins do it.

What a client omits, the server fills in before validation and storage, so every reader (the
kubelet, kube-proxy, `kubectl get -o yaml`) sees the same complete object it would see from
kube-apiserver: `restartPolicy: Always`, `imagePullPolicy` from the image tag,
`terminationMessagePath`, service `targetPort = port`, deployment strategy 25%/25%, the
`DefaultTolerationSeconds` tolerations, and so on. Each function mutates the object it is given.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable

from nodelab.controlplane.registry import storage_defaults
from nodelab.kube.objects import Object
from nodelab.kube.pod.qos import compute_pod_qos
from nodelab.kube.quantities import InvalidQuantity


def _image_pull_policy(image: str) -> str:
    name = image.split("@")[0]
    last = name.rsplit("/", 1)[-1]
    if "@" in image:
        return "IfNotPresent"
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def _probe(probe: Object | None) -> None:
    if not isinstance(probe, dict):
        return
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    if isinstance(probe.get("httpGet"), dict):
        probe["httpGet"].setdefault("path", "/")
        probe["httpGet"].setdefault("scheme", "HTTP")


def _container(container: Object) -> None:
    if not isinstance(container, dict):
        return
    if isinstance(container.get("image"), str):
        container.setdefault("imagePullPolicy", _image_pull_policy(container["image"]))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for env in container.get("env") or []:
        field_ref = ((env or {}).get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(container.get(probe))


def _volume(volume: Object) -> None:
    if not isinstance(volume, dict):
        return
    for source in ("secret", "configMap", "projected", "downwardAPI"):
        if isinstance(volume.get(source), dict):
            volume[source].setdefault("defaultMode", 420)
    if isinstance(volume.get("hostPath"), dict):
        volume["hostPath"].setdefault("type", "")
    if not any(k for k in volume if k != "name"):
        volume["emptyDir"] = {}


def pod_spec(spec: Object) -> None:
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(kind) or []:
            _container(container)
    for volume in spec.get("volumes") or []:
        _volume(volume)


def pod(obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    pod_spec(spec)
    if not isinstance(spec, dict):
        return
    spec.setdefault("enableServiceLinks", True)  # priority: the Priority admission (priority.py)
    for kind in ("initContainers", "containers"):
        for container in spec.get(kind) or []:
            resources = container.get("resources") if isinstance(container, dict) else None
            if isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
                requests = resources.setdefault("requests", {})
                for name, value in resources["limits"].items():
                    requests.setdefault(name, value)
    tolerations = spec.setdefault("tolerations", [])
    if isinstance(tolerations, list):
        for taint in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
            if not any(isinstance(t, dict) and t.get("key") == taint for t in tolerations):
                tolerations.append({"key": taint, "operator": "Exists", "effect": "NoExecute",
                                    "tolerationSeconds": 300})
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("phase", "Pending")
        with contextlib.suppress(InvalidQuantity, AttributeError, TypeError):
            # a malformed spec gets no class here: validation refuses it, naming the field
            status.setdefault("qosClass", compute_pod_qos(spec))


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


def _template(spec: Object) -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        pod_spec(template.setdefault("spec", {}))
        template.setdefault("metadata", {})


def _rolling_update(spec: Object, key: str, rolling_defaults: Object) -> None:
    """A workload's update strategy at `spec[key]`: type RollingUpdate unless set, and then
    `rollingUpdate`'s defaults (each kind's SetDefaults_)."""
    strategy = spec.setdefault(key, {})
    if not isinstance(strategy, dict):
        return
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        if isinstance(rolling, dict):
            for field, value in rolling_defaults.items():
                rolling.setdefault(field, value)


def deployment(obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _rolling_update(spec, "strategy", {"maxUnavailable": "25%", "maxSurge": "25%"})
    _template(spec)
    obj.setdefault("status", {})


def replicaset(obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        _template(spec)
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("replicas", 0)


JOB_UID_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")
JOB_NAME_LABELS = ("job-name", "batch.kubernetes.io/job-name")


def job(obj: Object) -> None:
    """SetDefaults_Job plus the Job strategy's generated selector: unless
    `manualSelector`, the template is labelled with the Job's uid and name and the selector
    matches `batch.kubernetes.io/controller-uid`; a Job without labels takes its template's."""
    spec, meta = obj.setdefault("spec", {}), obj.setdefault("metadata", {})
    if not isinstance(spec, dict) or not isinstance(meta, dict):
        return
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy",
                    "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed")
    for rule in (spec.get("podFailurePolicy") or {}).get("rules") or []:
        for pattern in (rule or {}).get("onPodConditions") or []:
            if isinstance(pattern, dict):
                pattern.setdefault("status", "True")
    template = spec.get("template")
    if isinstance(template, dict) and spec.get("manualSelector") is not True and meta.get("uid"):
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        for key in JOB_NAME_LABELS:
            labels.setdefault(key, meta.get("name", ""))
        for key in JOB_UID_LABELS:
            labels.setdefault(key, meta["uid"])
        selector = spec.setdefault("selector", {})
        if isinstance(selector, dict):
            selector.setdefault("matchLabels", {}).setdefault(JOB_UID_LABELS[1], meta["uid"])
    if isinstance(template, dict) and not meta.get("labels"):
        labels = (template.get("metadata") or {}).get("labels")
        if labels:
            meta["labels"] = dict(labels)
    _template(spec)
    obj.setdefault("status", {})


def daemonset(obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("revisionHistoryLimit", 10)
    _rolling_update(spec, "updateStrategy", {"maxUnavailable": 1, "maxSurge": 0})
    _template(spec)
    status = obj.setdefault("status", {})
    if isinstance(status, dict):  # not omitempty in Go: clients require them
        for key in ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled",
                    "numberReady"):
            status.setdefault(key, 0)


def statefulset(obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy",
                    {"whenDeleted": "Retain", "whenScaled": "Retain"})
    _rolling_update(spec, "updateStrategy", {"partition": 0})
    _template(spec)
    obj.setdefault("status", {}).setdefault("replicas", 0)


def replicationcontroller(obj: Object) -> None:
    """SetDefaults_ReplicationController: the selector and the RC's own labels default to the
    template's labels, replicas to 1."""
    spec, meta = obj.setdefault("spec", {}), obj.setdefault("metadata", {})
    if not isinstance(spec, dict) or not isinstance(meta, dict):
        return
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") \
        if isinstance(spec.get("template"), dict) else None
    if labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        if not meta.get("labels"):
            meta["labels"] = dict(labels)
    spec.setdefault("replicas", 1)
    _template(spec)
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("replicas", 0)


def cronjob(obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    template = spec.get("jobTemplate")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        _template(template["spec"])
    obj.setdefault("status", {})


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
DEFAULTERS: dict[str, Callable[[Object], None]] = {
    f"{RBAC_GROUP}/rolebindings": role_binding,
    f"{RBAC_GROUP}/clusterrolebindings": role_binding,
    "scheduling.k8s.io/priorityclasses": priorityclass,
    "networking.k8s.io/networkpolicies": networkpolicy,
    "networking.k8s.io/ingresses": ingress,
    "networking.k8s.io/ingressclasses": ingressclass,
    "core/limitranges": limitrange,
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
