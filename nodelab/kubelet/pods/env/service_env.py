"""The service environment variables the kubelet adds to every container (upstream's
`getServiceEnvVarMap` and `pkg/kubelet/envvars`).

Which services: the `kubernetes` service of the `default` namespace always (so in-cluster
clients find the API server even with `enableServiceLinks: false`), and, when the pod's
`enableServiceLinks` is true (the default), every service of the pod's own namespace. Services
without a cluster IP (headless, `None`, or not yet allocated) give nothing.

For a service `my-svc` (name upper-cased, `-` as `_`) with cluster IP 10.96.0.5 and first port
80/TCP named `http`:

    MY_SVC_SERVICE_HOST=10.96.0.5         MY_SVC_PORT=tcp://10.96.0.5:80
    MY_SVC_SERVICE_PORT=80                MY_SVC_PORT_80_TCP=tcp://10.96.0.5:80
    MY_SVC_SERVICE_PORT_HTTP=80           MY_SVC_PORT_80_TCP_PROTO=tcp
                                          MY_SVC_PORT_80_TCP_PORT=80
                                          MY_SVC_PORT_80_TCP_ADDR=10.96.0.5

The right column is the Docker-links family, one block per port (`_PORT` for the first only).
"""

from __future__ import annotations

from collections.abc import Iterable

from nodelab.kube.objects import ObjectView

MASTER_SERVICES = ("kubernetes",)


def _has_cluster_ip(service: ObjectView) -> bool:
    ip = (service.get("spec") or {}).get("clusterIP") or ""
    return ip not in ("", "None")


def env_name(name: str) -> str:
    return name.replace("-", "_").upper()


def _host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _link_variables(service: ObjectView) -> dict[str, str]:
    prefix = env_name(service["metadata"]["name"])
    ip = service["spec"]["clusterIP"]
    out: dict[str, str] = {}
    for index, port in enumerate(service["spec"].get("ports") or []):
        protocol = port.get("protocol") or "TCP"
        number = int(port["port"])
        url = f"{protocol.lower()}://{_host_port(ip, number)}"
        if index == 0:
            out[f"{prefix}_PORT"] = url
        block = f"{prefix}_PORT_{number}_{protocol.upper()}"
        out[block] = url
        out[f"{block}_PROTO"] = protocol.lower()
        out[f"{block}_PORT"] = str(number)
        out[f"{block}_ADDR"] = ip
    return out


def from_services(services: Iterable[ObjectView]) -> dict[str, str]:
    """The variables of `services` (each must have a cluster IP and at least one port)."""
    out: dict[str, str] = {}
    for service in services:
        if not _has_cluster_ip(service) or not (service["spec"].get("ports") or []):
            continue
        name = env_name(service["metadata"]["name"])
        ports = service["spec"]["ports"]
        out[f"{name}_SERVICE_HOST"] = service["spec"]["clusterIP"]
        out[f"{name}_SERVICE_PORT"] = str(int(ports[0]["port"]))
        for port in ports:
            if port.get("name"):
                out[f"{name}_SERVICE_PORT_{env_name(port['name'])}"] = str(int(port["port"]))
        out |= _link_variables(service)
    return out


def service_env(services: Iterable[ObjectView], namespace: str, enable_links: bool) -> dict[str,
                str]:
    """The service variables for a pod in `namespace` (see the module doc for which)."""
    chosen: dict[str, ObjectView] = {}
    for service in services:
        if not _has_cluster_ip(service):
            continue
        metadata = service["metadata"]
        name = metadata["name"]
        if metadata.get("namespace") == "default" and name in MASTER_SERVICES:
            chosen.setdefault(name, service)
        elif metadata.get("namespace") == namespace and enable_links:
            chosen[name] = service
    return from_services(chosen[name] for name in sorted(chosen))
