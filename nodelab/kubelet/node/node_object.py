"""The Node object a kubelet registers: built from machine facts and config, as plain data.

`node_object` is the plan: what `kubectl get node -o yaml` will show right after
registration, before any heartbeat. It holds:

- metadata.labels: `kubernetes.io/hostname`, `kubernetes.io/os`, `kubernetes.io/arch`, their
  legacy `beta.kubernetes.io/*` twins, then the configured `nodeLabels`;
- spec.taints: the configured `registerWithTaints`, plus
  `node.kubernetes.io/unschedulable:NoSchedule` when registering unschedulable;
- status.capacity: cpu, memory, ephemeral-storage, hugepages-<size>, pods, nvidia.com/gpu;
- status.allocatable: capacity - kubeReserved - systemReserved - hard eviction threshold
  (memory also minus the hugepages, as upstream), never below zero; an extended resource a
  cluster added to the Node's capacity (`example.com/dongle`, by a PATCH of the status) is
  allocatable as it is, and leaves allocatable when it leaves capacity (`extended_allocatable`,
  upstream's MachineInfo setter);
- status.addresses (InternalIP, Hostname), nodeInfo, daemonEndpoints (kubelet port);
- status.features.supplementalGroupsPolicy: what the runtime's CRI Status says (`node_features`).

Everything is plain dicts, sent as JSON as is, and tests compare it as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodelab.kube.quantities import format_bytes, format_cpu, parse_quantity
from nodelab.kube.scheduling.resources import is_extended_resource
from nodelab.kubelet.config import KubeletConfig
from nodelab.kubelet.eviction.thresholds import hard_eviction_reservation, parse_thresholds
from nodelab.kubelet.machine import MachineFacts

KUBELET_VERSION = "v1.31.0-nodelab"
GPU_RESOURCE = "nvidia.com/gpu"


def capacity_values(facts: MachineFacts, config: KubeletConfig) -> dict[str, int]:
    """Capacity in integers: millicores for cpu, bytes for memory and storage, counts."""
    values = {
        "cpu": facts.cpu_millicores,
        "memory": facts.memory_bytes,
        "ephemeral-storage": facts.ephemeral_storage_bytes,
        "pods": config.max_pods,
    }
    for size, total in facts.hugepages_bytes.items():
        values[f"hugepages-{size}"] = total
    if facts.gpus:
        values[GPU_RESOURCE] = facts.gpus
    return values


def _reserved(spec: Mapping[str, str]) -> dict[str, int]:
    return {
        name: parse_quantity(value, milli=(name == "cpu")) for name, value in spec.items()
    }


def allocatable_values(capacity: Mapping[str, int], config: KubeletConfig) -> dict[str, int]:
    """Capacity minus kube-reserved, system-reserved and the hard eviction thresholds."""
    held: dict[str, int] = {}
    for source in (
        _reserved(config.kube_reserved),
        _reserved(config.system_reserved),
        hard_eviction_reservation(parse_thresholds(config.eviction_hard), capacity),
    ):
        for name, amount in source.items():
            held[name] = held.get(name, 0) + amount
    hugepages = sum(v for k, v in capacity.items() if k.startswith("hugepages-"))
    held["memory"] = held.get("memory", 0) + hugepages
    return {name: max(0, value - held.get(name, 0)) for name, value in capacity.items()}


def extended_allocatable(on_node: Mapping[str, Any], own: Mapping[str, str]
                         ) -> dict[str, str | None]:
    """Allocatable entries for the extended resources in the Node's capacity that the kubelet
    does not count itself (`own`: its capacity): each as it is in capacity; one no longer in
    capacity is None (a merge patch's null removes it), as upstream copies capacity to
    allocatable and drops extended resources that left capacity."""
    capacity = on_node.get("capacity") or {}
    allocatable = on_node.get("allocatable") or {}
    out: dict[str, str | None] = {
        name: str(value) for name, value in capacity.items()
        if is_extended_resource(name) and name not in own}
    out |= {name: None for name in allocatable
            if is_extended_resource(name) and name not in capacity and name not in own}
    return out


def node_features(supplemental_groups_policy: bool | None) -> dict[str, Any]:
    """status.features, as upstream's NodeFeatures setter: whether the runtime honours
    `supplementalGroupsPolicy: Strict` (CRI RuntimeFeatures); nothing while the runtime has
    not answered."""
    if supplemental_groups_policy is None:
        return {}
    return {"features": {"supplementalGroupsPolicy": supplemental_groups_policy}}


def format_resources(values: Mapping[str, int]) -> dict[str, str]:
    """Integers as API quantities: cpu in cores/milli, bytes in binary suffixes, counts bare."""
    out: dict[str, str] = {}
    for name, value in values.items():
        if name == "cpu":
            out[name] = format_cpu(value)
        elif name in ("memory", "ephemeral-storage") or name.startswith("hugepages-"):
            out[name] = format_bytes(value)
        else:
            out[name] = str(value)
    return out


def node_labels(node_name: str, facts: MachineFacts, config: KubeletConfig) -> dict[str, str]:
    labels = {
        "beta.kubernetes.io/arch": facts.architecture,
        "beta.kubernetes.io/os": facts.operating_system,
        "kubernetes.io/arch": facts.architecture,
        "kubernetes.io/hostname": node_name,
        "kubernetes.io/os": facts.operating_system,
    }
    labels.update(config.node_labels)
    return labels


def node_taints(config: KubeletConfig) -> list[dict[str, str]]:
    taints = [
        {"key": t.key, "value": t.value, "effect": t.effect} if t.value
        else {"key": t.key, "effect": t.effect}
        for t in config.register_with_taints
    ]
    if not config.register_schedulable:
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    return taints


def node_info(facts: MachineFacts, runtime_version: str) -> dict[str, str]:
    return {
        "machineID": facts.machine_id,
        "systemUUID": facts.system_uuid,
        "bootID": facts.boot_id,
        "kernelVersion": facts.kernel_version,
        "osImage": facts.os_image,
        "containerRuntimeVersion": runtime_version,
        "kubeletVersion": KUBELET_VERSION,
        "kubeProxyVersion": "",
        "operatingSystem": facts.operating_system,
        "architecture": facts.architecture,
    }


def node_addresses(node_ip: str, hostname: str) -> list[dict[str, str]]:
    return [{"type": "InternalIP", "address": node_ip}, {"type": "Hostname", "address": hostname}]


def node_status(
    node_ip: str, facts: MachineFacts, config: KubeletConfig, runtime_version: str
) -> dict[str, Any]:
    """Every status field the kubelet owns except the conditions."""
    capacity = capacity_values(facts, config)
    return {
        "capacity": format_resources(capacity),
        "allocatable": format_resources(allocatable_values(capacity, config)),
        "addresses": node_addresses(node_ip, facts.hostname),
        "nodeInfo": node_info(facts, runtime_version),
        "daemonEndpoints": {"kubeletEndpoint": {"Port": config.port}},
    }


def node_object(
    node_name: str,
    node_ip: str,
    facts: MachineFacts,
    config: KubeletConfig,
    runtime_version: str,
) -> dict[str, Any]:
    """The Node the kubelet creates when it registers."""
    spec: dict[str, Any] = {}
    taints = node_taints(config)
    if taints:
        spec["taints"] = taints
    if not config.register_schedulable:
        spec["unschedulable"] = True
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node_name,
            "labels": node_labels(node_name, facts, config),
            "annotations": {"volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        },
        "spec": spec,
        "status": node_status(node_ip, facts, config, runtime_version),
    }
