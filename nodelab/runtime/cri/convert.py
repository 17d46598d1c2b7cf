"""Records and live state turned into CRI messages (statuses, list items, stats)."""

from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path
from typing import Any

from nodelab.cri import api_pb2 as cri
from nodelab.runtime import cgroups, namespaces
from nodelab.runtime.containers import Containers, LiveState
from nodelab.runtime.images.store import ImageRecord
from nodelab.runtime.records import ContainerRecord, SandboxRecord, decode_proto, stored_config


def image_message(record: ImageRecord) -> Any:
    config = record.image_config
    user = str(config.get("User") or "")
    uid_text = user.split(":")[0]
    message = cri.Image(id=record.id, repo_tags=record.repo_tags,
                        repo_digests=record.repo_digests, size=record.size,
                        spec=cri.ImageSpec(image=record.id))
    if uid_text.isdigit():
        message.uid.value = int(uid_text)
    elif uid_text:
        message.username = uid_text
    else:
        message.uid.value = 0
    return message


def sandbox_state(ready: bool) -> Any:
    return cri.SANDBOX_READY if ready else cri.SANDBOX_NOTREADY


def sandbox_item(record: SandboxRecord, ready: bool) -> Any:
    config = stored_config(cri.PodSandboxConfig, record.config)
    return cri.PodSandbox(
        id=record.id, metadata=config.metadata, state=sandbox_state(ready),
        created_at=record.created_at, labels=config.labels, annotations=config.annotations,
        runtime_handler=record.runtime_handler,
    )


def sandbox_status(record: SandboxRecord, ready: bool) -> Any:
    config = decode_proto(cri.PodSandboxConfig, record.config)
    options = None
    if config.HasField("linux") and config.linux.HasField("security_context"):
        options = config.linux.security_context.namespace_options
    status = cri.PodSandboxStatus(
        id=record.id, metadata=config.metadata, state=sandbox_state(ready),
        created_at=record.created_at, labels=config.labels, annotations=config.annotations,
        runtime_handler=record.runtime_handler,
        network=cri.PodSandboxNetworkStatus(
            ip=record.ip, additional_ips=[cri.PodIP(ip=ip) for ip in record.additional_ips]),
    )
    if options is not None:
        status.linux.namespaces.options.CopyFrom(options)
    return status


def container_item(record: ContainerRecord, config: Any, live: LiveState) -> Any:
    return cri.Container(
        id=record.id, pod_sandbox_id=record.sandbox_id, metadata=config.metadata,
        image=cri.ImageSpec(image=record.image_spec), image_ref=record.image_ref,
        image_id=record.image_id, state=live.state, created_at=record.created_at,
        labels=config.labels, annotations=config.annotations,
    )


def container_user(process_user: dict[str, Any]) -> Any:
    """The identity a container's first process runs with, from its OCI spec's process.user
    (CRI ContainerStatus.user, as containerd reports it: the kubelet shows it as
    status.containerStatuses[].user.linux)."""
    return cri.ContainerUser(linux=cri.LinuxContainerUser(
        uid=int(process_user.get("uid", 0)), gid=int(process_user.get("gid", 0)),
        supplemental_groups=[int(g) for g in process_user.get("additionalGids") or []]))


@functools.lru_cache(maxsize=1024)
def spec_user(spec_path: Path) -> dict[str, Any] | None:
    """process.user of the OCI spec at `spec_path` (read once: it does not change), or None
    when the bundle has none."""
    try:
        spec = json.loads(spec_path.read_text())
    except (OSError, ValueError):
        return None
    user: dict[str, Any] = (spec.get("process") or {}).get("user") or {}
    return user


def container_status(record: ContainerRecord, config: Any, live: LiveState,
                     user: dict[str, Any] | None = None) -> Any:
    status = cri.ContainerStatus(
        id=record.id, metadata=config.metadata, state=live.state,
        created_at=record.created_at, started_at=record.started_at,
        image=cri.ImageSpec(image=record.image_spec), image_ref=record.image_ref,
        image_id=record.image_id, labels=config.labels, annotations=config.annotations,
        mounts=config.mounts, log_path=record.log_path, reason=live.reason,
        message=live.message,
    )
    if live.exit is not None:
        status.finished_at = live.exit.finished_at_ns
        status.exit_code = live.exit.code
    if config.HasField("linux") and config.linux.HasField("resources"):
        status.resources.linux.CopyFrom(config.linux.resources)
    if record.resources:
        status.resources.linux.CopyFrom(decode_proto(cri.LinuxContainerResources,
                                                     record.resources))
    if user is not None:
        status.user.CopyFrom(container_user(user))
    return status


def writable_layer_usage(upper: str) -> tuple[int, int]:
    size = inodes = 0
    for dirpath, dirnames, filenames in os.walk(upper):
        for name in dirnames + filenames:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            size += st.st_blocks * 512
            inodes += 1
    return size, inodes


def container_stats(record: ContainerRecord, config: Any, containers: Containers) -> Any:
    now = time.time_ns()
    usage = cgroups.read_usage(record.cgroups_path)
    upper = str(containers.records.container_dir(record.id) / "upper")
    used, inodes = writable_layer_usage(upper)
    stats = cri.ContainerStats(
        attributes=cri.ContainerAttributes(
            id=record.id, metadata=config.metadata, labels=config.labels,
            annotations=config.annotations),
    )
    stats.cpu.timestamp = now
    stats.cpu.usage_core_nano_seconds.value = usage.cpu_ns
    stats.memory.timestamp = now
    stats.memory.working_set_bytes.value = usage.working_set
    stats.memory.usage_bytes.value = usage.memory_usage
    stats.memory.rss_bytes.value = usage.rss
    stats.memory.page_faults.value = usage.page_faults
    stats.memory.major_page_faults.value = usage.major_page_faults
    if usage.memory_limit:
        stats.memory.available_bytes.value = max(0, usage.memory_limit - usage.working_set)
    stats.writable_layer.timestamp = now
    stats.writable_layer.fs_id.mountpoint = upper
    stats.writable_layer.used_bytes.value = used
    stats.writable_layer.inodes_used.value = inodes
    return stats


def sandbox_stats(record: SandboxRecord, containers: Containers) -> Any:
    config = decode_proto(cri.PodSandboxConfig, record.config)
    stats = cri.PodSandboxStats(attributes=cri.PodSandboxAttributes(
        id=record.id, metadata=config.metadata, labels=config.labels,
        annotations=config.annotations))
    now = time.time_ns()
    cpu = mem = ws = rss = procs = 0
    for container in containers.records.containers_of(record.id):
        cconfig = containers.config_of(container)
        cstats = container_stats(container, cconfig, containers)
        stats.linux.containers.append(cstats)
        usage = cgroups.read_usage(container.cgroups_path)
        cpu += usage.cpu_ns
        mem += usage.memory_usage
        ws += usage.working_set
        rss += usage.rss
        procs += usage.pids
    stats.linux.cpu.timestamp = now
    stats.linux.cpu.usage_core_nano_seconds.value = cpu
    stats.linux.memory.timestamp = now
    stats.linux.memory.working_set_bytes.value = ws
    stats.linux.memory.usage_bytes.value = mem
    stats.linux.memory.rss_bytes.value = rss
    stats.linux.process.timestamp = now
    stats.linux.process.process_count.value = procs
    members = [c.pid for c in containers.records.containers_of(record.id)]
    counters = namespaces.interface_stats(record.netns_path, "eth0",
                                          members) if record.netns_path else None
    if counters is not None:
        stats.linux.network.timestamp = now
        iface = stats.linux.network.default_interface
        iface.name = "eth0"
        iface.rx_bytes.value, iface.rx_errors.value = counters[0], counters[1]
        iface.tx_bytes.value, iface.tx_errors.value = counters[2], counters[3]
    return stats
