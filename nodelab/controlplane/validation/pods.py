"""Pod and pod-template validation (upstream `ValidatePodSpec`), the checks learners hit.

Containers: a unique DNS-label name and an image each; ports in range with a known protocol;
resources that parse, with requests no larger than limits; volume mounts that name a volume;
probes with exactly one handler. The pod: a known restartPolicy and dnsPolicy, unique volume
names, non-negative grace periods. Fields nodelab does not implement are refused
(`kube/pod/fields.py`: `Forbidden: not supported by nodelab`). Updates may change only what
upstream lets change.
"""

from __future__ import annotations

from typing import Any

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.scheduling import pod_affinity, topology_spread_constraints
from nodelab.controlplane.validation.volume_paths import local_descending_path, volume_sources
from nodelab.kube.objects import Object
from nodelab.kube.pod.fields import MESSAGE as NOT_SUPPORTED
from nodelab.kube.pod.fields import refusals
from nodelab.kube.quantities import quantity_value

PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]
_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")


def _container(errors: FieldErrors, path: str, c: Any, volumes: set[str], names: set[str]) -> None:
    if not isinstance(c, dict):
        errors.invalid(path, c, "must be an object")
        return
    name = c.get("name")
    if not name:
        errors.required(f"{path}.name")
    else:
        errors.dns1123_label(f"{path}.name", name)
        if name in names:
            errors.duplicate(f"{path}.name", name)
        names.add(name)
    if not c.get("image") or not str(c.get("image")).strip():
        errors.required(f"{path}.image")
    if c.get("imagePullPolicy") not in PULL_POLICIES:
        errors.unsupported(f"{path}.imagePullPolicy", c.get("imagePullPolicy"), PULL_POLICIES)
    port_names: set[str] = set()
    for j, port in enumerate(c.get("ports") or []):
        ppath = f"{path}.ports[{j}]"
        if not isinstance(port, dict):
            errors.invalid(ppath, port, "must be an object")
            continue
        if "containerPort" not in port:
            errors.required(f"{ppath}.containerPort")
        else:
            errors.port(f"{ppath}.containerPort", port["containerPort"])
        if "hostPort" in port and port["hostPort"]:
            errors.port(f"{ppath}.hostPort", port["hostPort"])
        errors.protocol(f"{ppath}.protocol", port.get("protocol"))
        if port.get("name"):
            errors.port_name(f"{ppath}.name", port["name"])
            if port["name"] in port_names:
                errors.duplicate(f"{ppath}.name", port["name"])
            port_names.add(port["name"])
    resources = c.get("resources") or {}
    for kind in ("limits", "requests"):
        for res, value in (resources.get(kind) or {}).items():
            errors.quantity(f"{path}.resources.{kind}[{res}]", value)
    for res, request in (resources.get("requests") or {}).items():
        limit = (resources.get("limits") or {}).get(res)
        try:
            too_big = limit is not None and quantity_value(request) > quantity_value(limit)
        except ValueError:
            continue
        if too_big:
            errors.invalid(f"{path}.resources.requests", request,
                           f"must be less than or equal to {res} limit of {limit}")
    mount_paths: set[str] = set()
    for j, mount in enumerate(c.get("volumeMounts") or []):
        mpath = f"{path}.volumeMounts[{j}]"
        if not isinstance(mount, dict):
            continue
        if not mount.get("name"):
            errors.required(f"{mpath}.name")
        elif mount["name"] not in volumes:
            errors.not_found(f"{mpath}.name", mount["name"])
        for key in ("subPath", "subPathExpr"):
            if mount.get(key):
                local_descending_path(errors, f"{mpath}.{key}", mount[key])
        if not mount.get("mountPath"):
            errors.required(f"{mpath}.mountPath")
        elif mount["mountPath"] in mount_paths:
            errors.invalid(f"{mpath}.mountPath", mount["mountPath"], "must be unique")
        else:
            mount_paths.add(mount["mountPath"])
    for j, env in enumerate(c.get("env") or []):
        name = (env or {}).get("name")
        if not name:
            errors.required(f"{path}.env[{j}].name")
        elif "=" in name or not name.isprintable():
            errors.invalid(f"{path}.env[{j}].name", name,
                           "a valid environment variable name must consist only of printable "
                           "ASCII characters other than '='")
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = c.get(probe_name)
        if not isinstance(probe, dict):
            continue
        handlers = [h for h in _HANDLERS if probe.get(h) is not None]
        if not handlers:
            errors.required(f"{path}.{probe_name}", "must specify a handler type")
        elif len(handlers) > 1:
            errors.forbidden(f"{path}.{probe_name}.{handlers[1]}",
                             "may not specify more than 1 handler type")
        for number in ("periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold"):
            errors.non_negative(f"{path}.{probe_name}.{number}", probe.get(number))
        grace = probe.get("terminationGracePeriodSeconds")
        if grace is not None and probe_name == "readinessProbe":
            errors.invalid(f"{path}.{probe_name}.terminationGracePeriodSeconds", grace,
                           "must not be set for readinessProbes")
        elif isinstance(grace, int) and grace <= 0:
            errors.invalid(f"{path}.{probe_name}.terminationGracePeriodSeconds", grace,
                           "must be greater than 0")
        http = probe.get("httpGet")
        if isinstance(http, dict) and isinstance(http.get("port"), int):
            errors.port(f"{path}.{probe_name}.httpGet.port", http["port"])


def validate_pod_spec(errors: FieldErrors, spec: Any, path: str) -> None:
    if not isinstance(spec, dict):
        errors.required(path)
        return
    for where in refusals(spec, path):  # fields nodelab does not implement (kube/pod/fields.py)
        errors.forbidden(where, NOT_SUPPORTED)
    volumes: set[str] = set()
    for i, volume in enumerate(spec.get("volumes") or []):
        name = (volume or {}).get("name")
        if not name:
            errors.required(f"{path}.volumes[{i}].name")
            continue
        errors.dns1123_label(f"{path}.volumes[{i}].name", name)
        volume_sources(errors, f"{path}.volumes[{i}]", volume)
        claim = volume.get("persistentVolumeClaim")
        if isinstance(claim, dict) and not claim.get("claimName"):
            errors.required(f"{path}.volumes[{i}].persistentVolumeClaim.claimName")
        if name in volumes:
            errors.duplicate(f"{path}.volumes[{i}].name", name)
        volumes.add(name)
    containers = spec.get("containers")
    if not containers:
        errors.required(f"{path}.containers")
    names: set[str] = set()
    for kind in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(kind) or []):
            _container(errors, f"{path}.{kind}[{i}]", container, volumes, names)
    if spec.get("restartPolicy") not in RESTART_POLICIES:
        errors.unsupported(f"{path}.restartPolicy", spec.get("restartPolicy"), RESTART_POLICIES)
    if spec.get("dnsPolicy") not in DNS_POLICIES:
        errors.unsupported(f"{path}.dnsPolicy", spec.get("dnsPolicy"), DNS_POLICIES)
    errors.non_negative(f"{path}.terminationGracePeriodSeconds",
                        spec.get("terminationGracePeriodSeconds"))
    errors.positive(f"{path}.activeDeadlineSeconds", spec.get("activeDeadlineSeconds"))
    if spec.get("nodeName"):
        errors.dns1123_subdomain(f"{path}.nodeName", spec["nodeName"])
    if spec.get("serviceAccountName"):
        errors.dns1123_subdomain(f"{path}.serviceAccountName", spec["serviceAccountName"])
    if spec.get("hostname"):
        errors.dns1123_label(f"{path}.hostname", spec["hostname"])
    errors.labels(f"{path}.nodeSelector", spec.get("nodeSelector"))
    node_affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
    for i, term in enumerate(node_affinity.get("preferredDuringSchedulingIgnoredDuringExecution")
                             or []):
        weight = (term or {}).get("weight")
        if not isinstance(weight, int) or not 1 <= weight <= 100:
            errors.invalid(f"{path}.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuring"
                           f"Execution[{i}].weight", weight, "must be in the range 1-100")
    pod_affinity(errors, f"{path}.affinity", spec.get("affinity"))
    topology_spread_constraints(errors, f"{path}.topologySpreadConstraints",
                                spec.get("topologySpreadConstraints"))
    for i, gate in enumerate(spec.get("readinessGates") or []):  # validateReadinessGates
        errors.qualified_name(f"{path}.readinessGates[{i}].conditionType",
                              (gate or {}).get("conditionType", ""))
    for i, alias in enumerate(spec.get("hostAliases") or []):  # upstream's ValidateHostAliases
        alias = alias if isinstance(alias, dict) else {}
        if not alias.get("ip"):
            errors.required(f"{path}.hostAliases[{i}].ip")
        else:
            errors.ip(f"{path}.hostAliases[{i}].ip", alias["ip"])
        for j, hostname in enumerate(alias.get("hostnames") or []):
            errors.dns1123_subdomain(f"{path}.hostAliases[{i}].hostnames[{j}]", hostname)
    for i, toleration in enumerate(spec.get("tolerations") or []):
        effect = (toleration or {}).get("effect")
        if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errors.unsupported(f"{path}.tolerations[{i}].effect", effect,
                               ["NoExecute", "NoSchedule", "PreferNoSchedule"])


def validate_pod(errors: FieldErrors, pod: Object) -> None:
    validate_pod_spec(errors, pod.get("spec"), "spec")


_MUTABLE = ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds",
            "ephemeralContainers")


def validate_pod_update(errors: FieldErrors, new: Object, old: Object) -> None:
    """Only container images, activeDeadlineSeconds and added tolerations may change."""
    validate_pod(errors, new)
    new_spec, old_spec = dict(new.get("spec") or {}), dict(old.get("spec") or {})
    if old_spec.get("nodeName"):
        new_spec.setdefault("nodeName", old_spec["nodeName"])
    for spec in (new_spec, old_spec):
        for key in _MUTABLE:
            spec.pop(key, None)
        for kind in ("containers", "initContainers"):
            spec[kind] = [{k: v for k, v in (c or {}).items() if k != "image"}
                          for c in spec.get(kind) or []]
    if new_spec != old_spec:
        errors.forbidden("spec", "pod updates may not change fields other than "
                         "`spec.containers[*].image`,`spec.initContainers[*].image`,"
                         "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
                         "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it "
                         "to be set to 1 if it was previously negative)")
