"""Pod and container settings, held to the same behaviour on nodelab and containerd: DNS,
port mappings, sysctls, shared PID namespace, mounts, readonly rootfs, users, resources,
stop signals, events, and what RemovePodSandbox leaves behind.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import pytest

from nodelab.cri import api_pb2 as cri
from nodelab.lab.cri_harness.endpoint import Endpoint

from .cri_pod import Pod

pytestmark = [pytest.mark.privileged, pytest.mark.slow]


def text(pod: Pod, cid: str, *cmd: str) -> str:
    result = pod.exec(cid, list(cmd))
    return str(result.stdout.decode())


def in_node(endpoint: Endpoint, fn: Any) -> Any:
    libc = ctypes.CDLL(None, use_errno=True)
    out: dict[str, Any] = {}

    def worker() -> None:
        fd = os.open(f"/run/netns/{endpoint.node_netns}", os.O_RDONLY)
        try:
            assert libc.setns(fd, 0x40000000) == 0
            out["value"] = fn()
        except Exception as exc:  # noqa: BLE001 - re-raised in the caller
            out["error"] = exc
        finally:
            os.close(fd)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_dns_config_becomes_resolv_conf(endpoint: Endpoint, tmp_path: Path) -> None:
    dns = cri.DNSConfig(servers=["10.96.0.10"], searches=["default.svc.cluster.local",
                                                           "svc.cluster.local"],
                        options=["ndots:5"])
    pod = Pod(endpoint, tmp_path, dns_config=dns)
    try:
        cid = pod.container("dns", ["sleep 3600"])
        resolv = text(pod, cid, "cat", "/etc/resolv.conf")
        assert "nameserver 10.96.0.10" in resolv
        assert "search default.svc.cluster.local svc.cluster.local" in resolv
        assert "options ndots:5" in resolv
    finally:
        pod.remove()


def test_port_mapping_reaches_the_container(endpoint: Endpoint, tmp_path: Path) -> None:
    mapping = cri.PortMapping(protocol=cri.TCP, container_port=8080, host_port=18080)
    pod = Pod(endpoint, tmp_path, port_mappings=[mapping])
    try:
        pod.container("srv", ["while true; do echo mapped | nc -l -p 8080; done"])

        def fetch() -> bytes:
            # until nc listens in the container (a refused or empty answer before that)
            deadline = time.monotonic() + 30
            while True:
                try:
                    with socket.create_connection(("10.244.7.1", 18080), timeout=5) as conn:
                        conn.sendall(b"hi\n")
                        answer = conn.recv(100)
                    if answer or time.monotonic() > deadline:
                        return answer
                except ConnectionRefusedError:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.1)

        assert in_node(endpoint, fetch).startswith(b"mapped")
    finally:
        pod.remove()


def test_sysctls_apply_in_the_pod(endpoint: Endpoint, tmp_path: Path) -> None:
    sysctls = {"net.ipv4.ip_unprivileged_port_start": "80", "kernel.shm_rmid_forced": "1"}
    pod = Pod(endpoint, tmp_path)
    pod.remove()
    config = cri.PodSandboxConfig()
    config.CopyFrom(pod.config)
    config.metadata.attempt = 1
    config.linux.sysctls.update(sysctls)
    pod.config = config
    pod.id = pod.rt.RunPodSandbox(cri.RunPodSandboxRequest(config=config), timeout=60
                                  ).pod_sandbox_id
    try:
        cid = pod.container("sysctl", ["sleep 3600"])
        assert text(pod, cid, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start").strip() \
            == "80"
        assert text(pod, cid, "cat", "/proc/sys/kernel/shm_rmid_forced").strip() == "1"
    finally:
        pod.remove()


def test_shared_pid_namespace(endpoint: Endpoint, tmp_path: Path) -> None:
    shared = cri.NamespaceOption(pid=cri.POD)
    pod = Pod(endpoint, tmp_path)
    pod.remove()
    config = cri.PodSandboxConfig()
    config.CopyFrom(pod.config)
    config.metadata.attempt = 1
    config.linux.security_context.namespace_options.CopyFrom(shared)
    pod.config = config
    pod.id = pod.rt.RunPodSandbox(cri.RunPodSandboxRequest(config=config), timeout=60
                                  ).pod_sandbox_id
    try:
        security = cri.LinuxContainerSecurityContext(namespace_options=shared)
        pod.container("a", ["sleep 3601"], linux=cri.LinuxContainerConfig(
            security_context=security))
        b = pod.container("b", ["sleep 3602"], linux=cri.LinuxContainerConfig(
            security_context=security))
        listing = text(pod, b, "ps", "-o", "args")
        assert "sleep 3601" in listing and "sleep 3602" in listing
        own = cri.LinuxContainerSecurityContext(namespace_options=cri.NamespaceOption(
            pid=cri.CONTAINER))
        alone = pod.container("c", ["sleep 3603"], linux=cri.LinuxContainerConfig(
            security_context=own))
        assert "sleep 3601" not in text(pod, alone, "ps", "-o", "args")
    finally:
        pod.remove()


def test_mounts_readonly_rootfs_and_user(pod: Pod, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "hello").write_text("from the host\n")
    security = cri.LinuxContainerSecurityContext(readonly_rootfs=True,
                                                 run_as_user=cri.Int64Value(value=65534))
    cid = pod.container(
        "mounts", ["sleep 3600"],
        mounts=[cri.Mount(container_path="/data", host_path=str(shared), readonly=True)],
        linux=cri.LinuxContainerConfig(security_context=security))
    assert text(pod, cid, "cat", "/data/hello") == "from the host\n"
    assert pod.exec(cid, ["touch", "/data/x"]).exit_code != 0
    assert pod.exec(cid, ["touch", "/x"]).exit_code != 0
    assert text(pod, cid, "id", "-u").strip() == "65534"


def test_memory_limit_and_update(pod: Pod) -> None:
    resources = cri.LinuxContainerResources(memory_limit_in_bytes=64 << 20, cpu_shares=256)
    cid = pod.container("limits", ["sleep 3600"],
                        linux=cri.LinuxContainerConfig(resources=resources))
    path = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
    if not os.path.exists("/sys/fs/cgroup/memory"):
        path = "/sys/fs/cgroup/memory.max"
    assert text(pod, cid, "cat", path).strip() == str(64 << 20)
    pod.rt.UpdateContainerResources(cri.UpdateContainerResourcesRequest(
        container_id=cid, linux=cri.LinuxContainerResources(memory_limit_in_bytes=96 << 20,
                                                            cpu_shares=256)), timeout=30)
    assert text(pod, cid, "cat", path).strip() == str(96 << 20)


def test_stop_signal_from_the_image(pod: Pod) -> None:
    cid = pod.container("sigint", ["trap 'exit 42' INT; echo ready; sleep 3600 & wait"],
                        image=cri.ImageSpec(image=pod.endpoint.image("stopsig")))
    pod.wait_log("sigint", "ready")  # the trap is set
    pod.rt.StopContainer(cri.StopContainerRequest(container_id=cid, timeout=10), timeout=30)
    # 42 only from the INT trap: TERM is ignored by a shell that is its namespace's init, so
    # a TERM would end in the KILL after the grace period (137)
    assert pod.status(cid).exit_code == 42


def test_stop_signal_from_the_container_config(endpoint: Endpoint, pod: Pod) -> None:
    if endpoint.name != "nodelab":
        pytest.skip("containerd 1.6 predates ContainerConfig.stop_signal (CRI 1.33)")
    cid = pod.container("sigint", ["trap 'exit 42' INT; echo ready; sleep 3600 & wait"],
                        stop_signal=cri.SIGINT)
    pod.wait_log("sigint", "ready")  # the trap is set
    pod.rt.StopContainer(cri.StopContainerRequest(container_id=cid, timeout=10), timeout=30)
    # 42 only from the INT trap: TERM is ignored by a shell that is its namespace's init, so
    # a TERM would end in the KILL after the grace period (137)
    assert pod.status(cid).exit_code == 42


def test_container_events(endpoint: Endpoint, pod: Pod) -> None:
    rt = endpoint.runtime_stub()
    stream = rt.GetContainerEvents(cri.GetEventsRequest())
    seen: list[tuple[str, int]] = []

    def read() -> None:
        try:
            for event in stream:
                seen.append((event.container_id, event.container_event_type))
        except grpc.RpcError:
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # The stream is live once it carries an event. A container only created makes one; one
    # created before the runtime subscribed the stream makes none, so another is made.
    markers: list[str] = []
    deadline = time.time() + 30
    while reader.is_alive() and not set(markers) & {c for c, _t in seen}:
        assert time.time() < deadline, f"no event for the created containers {markers}"
        markers.append(pod.container(f"marker{len(markers)}", ["true"], start=False))
        settle = time.time() + 1
        while reader.is_alive() and markers[-1] not in {c for c, _t in seen} \
                and time.time() < settle:
            time.sleep(0.05)
    if not reader.is_alive():
        pytest.skip(f"{endpoint.name} does not stream container events")
    cid = pod.container("events", ["sleep 0.5"])
    pod.wait_state(cid, cri.CONTAINER_EXITED)
    pod.rt.RemoveContainer(cri.RemoveContainerRequest(container_id=cid), timeout=30)
    deadline = time.time() + 10
    want = [cri.CONTAINER_CREATED_EVENT, cri.CONTAINER_STARTED_EVENT,
            cri.CONTAINER_STOPPED_EVENT, cri.CONTAINER_DELETED_EVENT]
    while time.time() < deadline and [t for c, t in seen if c == cid] != want:
        time.sleep(0.1)
    stream.cancel()
    assert [t for c, t in seen if c == cid] == want


def test_remove_leaves_nothing_and_releases_the_ip(endpoint: Endpoint, tmp_path: Path) -> None:
    pod = Pod(endpoint, tmp_path)
    cid = pod.container("gone", ["sleep 3600"])
    status = pod.rt.PodSandboxStatus(cri.PodSandboxStatusRequest(pod_sandbox_id=pod.id),
                                     timeout=10).status
    ip = status.network.ip
    ipam = endpoint.state / "ipam" / f"nlt{endpoint.uid}"
    assert (ipam / ip).exists()
    pod.rt.StopPodSandbox(cri.StopPodSandboxRequest(pod_sandbox_id=pod.id), timeout=60)
    assert not (ipam / ip).exists()
    pod.rt.RemovePodSandbox(cri.RemovePodSandboxRequest(pod_sandbox_id=pod.id), timeout=60)
    pod.rt.RemovePodSandbox(cri.RemovePodSandboxRequest(pod_sandbox_id=pod.id), timeout=60)
    mounts = Path("/proc/mounts").read_text()
    assert cid not in mounts and pod.id not in mounts
    if endpoint.name == "nodelab":  # containerd leaves pod cgroups to the kubelet
        for root in (Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup")):
            assert not (root / f"nodelab/nlt{endpoint.uid}/pods" / pod.name).exists()
    if endpoint.name == "nodelab":
        assert f"nlt{endpoint.uid}-{pod.id[:12]}" not in os.listdir("/run/netns")


def test_oom_score_adj_is_clamped_without_cap_sys_resource(pod: Pod) -> None:
    floor = int(Path("/proc/self/oom_score_adj").read_text())
    values = {}
    for name, wanted in (("low", -997), ("high", 500)):
        cid = pod.container(name, ["cat /proc/self/oom_score_adj"], linux=cri.LinuxContainerConfig(
            resources=cri.LinuxContainerResources(oom_score_adj=wanted)))
        pod.wait_state(cid, cri.CONTAINER_EXITED)
        values[name] = int((pod.logs / name / "0.log").read_text().split()[-1])
    assert values["low"] in (-997, floor)
    assert values["high"] == 500


def test_host_network_pod_shares_the_node_netns(endpoint: Endpoint, tmp_path: Path) -> None:
    pod = Pod(endpoint, tmp_path)
    pod.remove()
    config = cri.PodSandboxConfig()
    config.CopyFrom(pod.config)
    config.metadata.attempt = 1
    config.linux.security_context.namespace_options.network = cri.NODE
    config.hostname = ""  # the kubelet sends no hostname for host-network pods
    pod.config = config
    pod.id = pod.rt.RunPodSandbox(cri.RunPodSandboxRequest(config=config), timeout=60
                                  ).pod_sandbox_id
    try:
        status = pod.rt.PodSandboxStatus(cri.PodSandboxStatusRequest(pod_sandbox_id=pod.id),
                                         timeout=10).status
        assert status.state == cri.SANDBOX_READY
        cid = pod.container("hostnet", ["sleep 3600"])
        inode = os.stat(f"/run/netns/{endpoint.node_netns}").st_ino
        assert f"net:[{inode}]" in text(pod, cid, "ls", "-l", "/proc/self/ns/net")
    finally:
        pod.remove()
    assert pod.id not in Path("/proc/mounts").read_text()  # no pin of its own left behind


CAP_NUMBERS = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_FOWNER": 3, "CAP_FSETID": 4,
               "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
               "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13, "CAP_SYS_CHROOT": 18,
               "CAP_MKNOD": 27, "CAP_AUDIT_WRITE": 29, "CAP_SETFCAP": 31}


KUBELET_MASKED = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                  "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                  "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                  "/sys/devices/virtual/powercap"]
KUBELET_READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


def proc_mounts(pod: Pod, cid: str) -> dict[str, str]:
    return {line.split()[4]: line.split()[5] for line in
            text(pod, cid, "cat", "/proc/self/mountinfo").splitlines()}


def test_default_capabilities_masked_paths_and_devices(pod: Pod) -> None:
    security = cri.LinuxContainerSecurityContext(masked_paths=KUBELET_MASKED,
                                                 readonly_paths=KUBELET_READONLY)
    cid = pod.container("secure", ["sleep 3600"], devices=[
        cri.Device(container_path="/dev/mynull", host_path="/dev/null", permissions="rwm")],
        linux=cri.LinuxContainerConfig(security_context=security))
    status = text(pod, cid, "cat", "/proc/self/status")
    bounding = next(int(line.split()[1], 16) for line in status.splitlines()
                    if line.startswith("CapBnd:"))
    assert bounding == sum(1 << bit for bit in CAP_NUMBERS.values())
    mounts = proc_mounts(pod, cid)
    assert "/proc/keys" in mounts  # masked: /dev/null bound over it (kcore is absent here)
    assert mounts["/proc/sys"].split(",")[0] == "ro"
    assert pod.exec(cid, ["sh", "-c", "echo hi > /dev/mynull"]).exit_code == 0


def test_masked_paths_default_when_the_kubelet_sends_none(endpoint: Endpoint, pod: Pod) -> None:
    if endpoint.name != "nodelab":
        pytest.skip("containerd 1.6 masks nothing unless the kubelet sends the lists")
    cid = pod.container("defaults", ["sleep 3600"])
    mounts = proc_mounts(pod, cid)
    assert "/proc/keys" in mounts and mounts["/proc/sys"].split(",")[0] == "ro"


def test_seccomp_runtime_default_filters_the_container(pod: Pod) -> None:
    def seccomp_mode(cid: str) -> str:
        status = text(pod, cid, "cat", "/proc/self/status")
        return next(line.split()[1] for line in status.splitlines()
                    if line.startswith("Seccomp:"))

    confined = pod.container("confined", ["sleep 3600"], linux=cri.LinuxContainerConfig(
        security_context=cri.LinuxContainerSecurityContext(seccomp=cri.SecurityProfile(
            profile_type=cri.SecurityProfile.RuntimeDefault))))
    free = pod.container("free", ["sleep 3600"], linux=cri.LinuxContainerConfig(
        security_context=cri.LinuxContainerSecurityContext(seccomp=cri.SecurityProfile(
            profile_type=cri.SecurityProfile.Unconfined))))
    assert seccomp_mode(confined) == "2"
    assert seccomp_mode(free) == "0"
