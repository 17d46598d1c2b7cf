"""RunPodSandbox, StopPodSandbox, RemovePodSandbox: the apply side of `namespaces.py`.

RunPodSandbox reserves the name, writes the record, creates and pins the namespaces, writes the
pod's /etc files, runs CNI ADD and rewrites `/etc/hosts` with the pod IP. Any failure undoes
what was done (CNI DEL, netns delete, unpin) and releases the name, so a retry by the kubelet
starts clean.

StopPodSandbox stops every container of the pod (timeout 0, as the kubelet has already stopped
them gracefully), runs CNI DEL (releasing the IP) and marks the sandbox NOTREADY. The network
namespace stays until RemovePodSandbox, which also removes the containers, unpins the
namespaces, deletes the state dir and frees the name. Both are idempotent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

from nodelab.cni.portmap_rules import PortMapping
from nodelab.cri import api_pb2 as cri
from nodelab.errors import NodelabError
from nodelab.runtime import cgroups, namespaces
from nodelab.runtime.config import RuntimeConfig
from nodelab.runtime.containers import Containers
from nodelab.runtime.network import PodIdentity, PodNetwork
from nodelab.runtime.records import (
    RecordStore,
    SandboxRecord,
    decode_proto,
    encode_proto,
    now_ns,
    sandbox_name,
)

PROTOCOLS = {cri.TCP: "tcp", cri.UDP: "udp", cri.SCTP: "sctp"}


def pod_identity(record: SandboxRecord) -> PodIdentity:
    config = decode_proto(cri.PodSandboxConfig, record.config)
    md = config.metadata
    ports = tuple(
        PortMapping(p.host_port, p.container_port, PROTOCOLS.get(p.protocol, "tcp"), p.host_ip)
        for p in config.port_mappings if p.host_port
    )
    return PodIdentity(md.namespace, md.name, md.uid, record.id, ports)


def node_resolv_conf() -> str:
    try:
        return Path("/etc/resolv.conf").read_text()
    except OSError:
        return ""


def pinned_paths(record: SandboxRecord) -> list[str]:
    """The namespaces the sandbox holds (those of the node it shares are not listed)."""
    return [p for p in (record.netns_path, record.ipc_path, record.uts_path, record.pid_path)
            if p]


class PodSandboxes:
    """Sandbox lifecycle over pinned namespaces and a PodNetwork."""

    def __init__(self, config: RuntimeConfig, records: RecordStore, network: PodNetwork,
                 containers: Containers) -> None:
        self.config = config
        self.records = records
        self.network = network
        self.containers = containers

    def run(self, sandbox_id: str, config: Any, runtime_handler: str = "") -> SandboxRecord:
        linux = config.linux if config.HasField("linux") else None
        record = SandboxRecord(
            id=sandbox_id,
            name=sandbox_name(config),
            config=encode_proto(config),
            created_at=now_ns(),
            netns_name=namespaces.netns_name(self.config.netns_prefix, sandbox_id),
            cgroup_parent=linux.cgroup_parent if linux is not None else "",
            runtime_handler=runtime_handler,
        )
        self.records.reserve_sandbox(record)
        try:
            self._setup(record, config)
        except BaseException:
            self.remove(record)
            raise
        return record

    def _setup(self, record: SandboxRecord, config: Any) -> None:
        directory = self.records.sandbox_dir(record.id)
        directory.mkdir(parents=True, exist_ok=True)
        options = None
        if config.HasField("linux") and config.linux.HasField("security_context"):
            options = config.linux.security_context.namespace_options
        host_network = options is not None and options.network == cri.NODE
        hostname = config.hostname or (os.uname().nodename if host_network else
                                       config.metadata.name)
        (directory / "hostname").write_text(hostname + "\n")
        dns = config.dns_config if config.HasField("dns_config") else None
        (directory / "resolv.conf").write_text(
            namespaces.render_resolv_conf(dns, node_resolv_conf()))
        hosts = Path("/etc/hosts").read_text() if host_network else namespaces.render_hosts(
            hostname, "")
        (directory / "hosts").write_text(hosts)
        host_ipc = options is not None and options.ipc == cri.NODE
        if host_network:
            record.netns_name = ""
        pins = namespaces.pin_paths(namespaces.sandbox_namespaces(host_network, host_ipc),
                                    directory / "ns", record.netns_name)
        record.netns_path = pins.get("net", "")
        record.ipc_path = pins.get("ipc", "")
        record.uts_path = pins.get("uts", "")
        self.records.save_sandbox(record)  # before pinning: a crash leaves what to undo named
        namespaces.pin_namespaces(pins, hostname)
        if not host_ipc:  # hostIPC: the node's /dev/shm
            record.shm_path = namespaces.mount_shm(directory / "shm")
        if options is not None and options.pid == cri.POD:
            record.infra_pid, record.pid_path = namespaces.start_pid_infra(directory / "ns")
        self.records.save_sandbox(record)
        if host_network:
            record.setup_complete = True
            self.records.save_sandbox(record)
            return
        sysctls = dict(config.linux.sysctls) if config.HasField("linux") else {}
        namespaces.apply_net_sysctls(record.netns_name, sysctls)
        record.network_attached = True  # a failed ADD is undone with DEL, as the spec asks
        self.records.save_sandbox(record)
        attachment = self.network.attach(pod_identity(record), record.netns_path)
        if attachment.ips:
            record.ip = attachment.ips[0]
            record.additional_ips = attachment.ips[1:]
            (directory / "hosts").write_text(namespaces.render_hosts(hostname, record.ip))
        record.setup_complete = True
        self.records.save_sandbox(record)

    def stop(self, record: SandboxRecord) -> None:
        for container in self.records.containers_of(record.id):
            with self.containers.lock(container.id):
                self.containers.stop(container, 0)
        if record.infra_pid:
            namespaces.reap(record.infra_pid)
        if record.network_attached:
            self.network.detach(pod_identity(record), record.netns_path)
            record.network_attached = False
        namespaces.unmount_shm(record.shm_path)  # as containerd's unmountSandboxFiles
        record.state = "NOTREADY"
        self.records.save_sandbox(record)

    def remove(self, record: SandboxRecord) -> None:
        for container in self.records.containers_of(record.id):
            with self.containers.lock(container.id):
                self.containers.remove(container.id)
        if record.network_attached:
            with contextlib.suppress(NodelabError):
                self.network.detach(pod_identity(record), record.netns_path)
            record.network_attached = False
        if record.infra_pid:
            namespaces.reap(record.infra_pid)
        namespaces.delete_netns(record.netns_name)
        namespaces.unpin([record.ipc_path, record.uts_path])
        namespaces.unmount_shm(record.shm_path)
        cgroups.remove_empty(
            cgroups.sandbox_cgroup_path(self.config.cgroup_root, record.cgroup_parent, record.id),
            self.config.cgroup_root,
        )
        shutil.rmtree(self.records.sandbox_dir(record.id), ignore_errors=True)
        self.records.forget_sandbox(record.id)

    def ready(self, record: SandboxRecord) -> bool:
        """READY, set up, and each namespace it pinned still there (a host reboot unmounts the
        pins: a hostNetwork sandbox's IPC and UTS namespaces as well as a pod's network)."""
        if record.state != "READY" or not record.setup_complete:
            return False
        return all(namespaces.is_namespace(path) for path in pinned_paths(record))
