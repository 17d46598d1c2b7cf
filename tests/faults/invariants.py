"""What must hold in a lab after any fault, each read from the real thing it is about.

- the API: pods (names, UIDs, container IDs, restart counts), EndpointSlices;
- the runtime over CRI (its socket in the node's state dir): sandboxes and containers;
- host-local's reservation files (the IPAM store, one file per address);
- kube-proxy's rules in the node's namespace (`iptables-save -t nat`).
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from typing import Any

import grpc
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from nodelab.cri import api_pb2 as cri
from nodelab.cri import api_pb2_grpc as cri_grpc
from nodelab.lab.lab import Lab

Pod = dict[str, Any]


def core_api(lab: Lab) -> k8s.CoreV1Api:
    api = k8s_config.new_client_from_config(str(lab.kubeconfig))  # type: ignore[no-untyped-call]
    return k8s.CoreV1Api(api)


def api_pods(lab: Lab) -> list[Pod]:
    """Every pod of the lab, kube-system's cluster DNS too (the IPAM store holds its address)."""
    pods: list[Pod] = core_api(lab).api_client.sanitize_for_serialization(
        core_api(lab).list_pod_for_all_namespaces(_request_timeout=10).items)
    return pods


def ready(pod: Pod) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


@dataclass(frozen=True)
class RuntimeView:
    sandboxes: list[Any]  # every PodSandbox the runtime has
    containers: list[Any]  # every Container


def runtime_view(lab: Lab, node: str = "node1") -> RuntimeView:
    with grpc.insecure_channel(f"unix://{lab.paths.cri_socket(node)}") as channel:
        stub = cri_grpc.RuntimeServiceStub(channel)  # type: ignore[no-untyped-call]
        sandboxes = stub.ListPodSandbox(cri.ListPodSandboxRequest(), timeout=10).items
        containers = stub.ListContainers(cri.ListContainersRequest(), timeout=10).containers
    return RuntimeView(list(sandboxes), list(containers))


def duplicates(view: RuntimeView) -> list[str]:
    """Pods with more than one ready sandbox, containers running twice in a pod."""
    ready_sandboxes = Counter(s.metadata.uid for s in view.sandboxes
                              if s.state == cri.SANDBOX_READY)
    running = Counter((c.labels.get("io.kubernetes.pod.uid", c.pod_sandbox_id), c.metadata.name)
                      for c in view.containers if c.state == cri.CONTAINER_RUNNING)
    return ([f"pod {uid}: {n} ready sandboxes" for uid, n in ready_sandboxes.items() if n > 1]
            + [f"pod {uid}, container {name}: {n} running" for (uid, name), n in running.items()
               if n > 1])


def ipam_addresses(lab: Lab, node: str = "node1") -> set[str]:
    """The addresses host-local has reserved on `node` (its reservation files)."""
    found = set()
    for path in (lab.paths.node(node) / "cni" / "networks").glob("*/*"):
        try:
            found.add(str(ipaddress.ip_address(path.name)))
        except ValueError:
            continue  # lock, last_reserved_ip.0
    return found


def pod_addresses(pods: list[Pod]) -> set[str]:
    return {p["status"]["podIP"] for p in pods
            if (p.get("status") or {}).get("podIP") and not p["spec"].get("hostNetwork")}


def rule_endpoints(lab: Lab, node: str = "node1") -> set[str]:
    """Every DNAT destination in kube-proxy's endpoint chains in the node's namespace."""
    netns = next(n.netns for n in lab.topology.nodes if n.name == node)
    rules = subprocess.run(["ip", "netns", "exec", netns, "iptables-save", "-t", "nat"],
                           capture_output=True, text=True, check=True, timeout=30).stdout
    return {m.group(1) for line in rules.splitlines() if line.startswith("-A KUBE-SEP-")
            for m in [re.search(r"--to-destination (\S+)", line)] if m}


def slice_endpoints(lab: Lab) -> set[str]:
    """Every ready endpoint (address:port) of every Service, from the EndpointSlices."""
    api = k8s_config.new_client_from_config(str(lab.kubeconfig))  # type: ignore[no-untyped-call]
    slices = k8s.DiscoveryV1Api(api).list_endpoint_slice_for_all_namespaces(_request_timeout=10)
    found = set()
    for item in slices.items:
        for endpoint in item.endpoints or []:
            if endpoint.conditions is not None and endpoint.conditions.ready is False:
                continue
            for port in item.ports or []:
                found |= {f"{address}:{port.port}" for address in endpoint.addresses}
    return found
