"""containerd (a real libcni caller) configured with nodelab's plugins gives its pods addresses.

containerd runs inside a node namespace made by the test (`nl<id>-ctd`), next to a
docker-registry on that namespace's 127.0.0.1 serving a tiny busybox "pause" image, so pulls
and every rule stay inside. The pod's cgroups go under `nodelab/<id>`; the test removes the
sandbox through CRI, stops both daemons by PID and cleans what remains.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nodelab.cni import plugin_dir
from nodelab.cni.server import start_in_netns
from nodelab.cri import api_pb2 as cri
from nodelab.cri import api_pb2_grpc as cri_grpc
from nodelab.host.cgroups import hierarchies, remove_group_tree
from nodelab.host.commands import run
from nodelab.host.processes import ProcessId, terminate_all
from nodelab.lab.containerd.config import containerd_config
from nodelab.lab.containerd.host_files import HostFiles

from .conftest import netns_path, privileged

pytestmark = [
    *privileged,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("containerd") is None, reason="containerd not installed"),
    pytest.mark.skipif(shutil.which("docker-registry") is None, reason="docker-registry missing"),
    pytest.mark.skipif(not Path("/bin/busybox").exists(), reason="busybox-static missing"),
]

grpc = pytest.importorskip("grpc")

REGISTRY = "127.0.0.1:5000"
PAUSE = f"{REGISTRY}/nodelab-pause:latest"


PUSH_PAUSE = f"""
import time
from pathlib import Path
from typing import Any
from nodelab.oci.distribution import RegistryClient
from nodelab.oci.image import Entry, ImageConfig, Layer, build_image
from nodelab.oci.push import push_image

entries = [Entry.dir(d) for d in ("bin", "proc", "sys", "dev", "etc", "tmp")]
entries.append(Entry.file("bin/busybox", Path("/bin/busybox").read_bytes(), 0o755))
entries += [Entry.symlink(f"bin/{{a}}", "/bin/busybox") for a in ("sh", "sleep")]
image = build_image(
    [Layer.from_entries(entries, "busybox")],
    ImageConfig(cmd=("sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done")),
)
for attempt in range(100):  # the registry is still starting
    try:
        push_image(RegistryClient("{REGISTRY}", scheme="http"), "nodelab-pause", "latest", image)
        break
    except OSError:
        time.sleep(0.1)
"""
"""Builds a never-exiting busybox "pause" image and pushes it, run inside the node netns."""


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def containerd(make_netns: Callable[[str], str], tmp_path: Path) -> Iterator[tuple[str, Path, Any]]:
    prefix: str = make_netns.prefix  # type: ignore[attr-defined]
    node = make_netns("ctd")
    run(["ip", "-n", node, "link", "set", "lo", "up"])
    state = Path(f"/tmp/{prefix}-ctd")  # short: unix socket paths must fit in 108 bytes
    state.mkdir()
    conf_dir = state / "net.d"
    conf_dir.mkdir()
    conflist = {
        "cniVersion": "1.0.0",
        "name": f"{prefix}pods",
        "plugins": [
            {
                "type": "bridge",
                "bridge": f"{prefix}-br",
                "isGateway": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(state / "networks"),
                    "ranges": [[{"subnet": "10.250.8.0/24"}]],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    (conf_dir / "10-nodelab.conflist").write_text(json.dumps(conflist))
    (state / "config.toml").write_text(containerd_config(
        state, state / "containerd.sock", conf_dir, REGISTRY, str(plugin_dir()), PAUSE,
        runc_root=state / "runc"))
    registry_config = state / "registry.yml"
    registry_config.write_text(
        f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {state}/registry\nhttp:\n  addr: {REGISTRY}\n"
    )
    env = dict(os.environ)
    procs: list[subprocess.Popen[bytes]] = []
    log = (state / "daemons.log").open("wb")
    stub: Any = None
    host = HostFiles(state / "run")  # the shims' sockets in /run/containerd/s
    try:
        procs.append(
            subprocess.Popen(
                ["ip", "netns", "exec", node, "docker-registry", "serve", str(registry_config)],
                stdout=log,
                stderr=log,
            )
        )
        pusher = subprocess.run(
            ["ip", "netns", "exec", node, sys.executable, "-c", PUSH_PAUSE],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert pusher.returncode == 0, pusher.stderr[-2000:]
        procs.append(start_in_netns(netns_path(node)))  # thick plugins: podnet's role
        procs.append(
            subprocess.Popen(
                # nsenter, not `ip netns exec`, which remounts /sys and hides the cgroups runc needs
                [
                    "nsenter",
                    f"--net={netns_path(node)}",
                    "containerd",
                    "--config",
                    str(state / "config.toml"),
                ],
                stdout=log,
                stderr=log,
                env=env,
            )
        )
        channel = grpc.insecure_channel(f"unix://{state}/containerd.sock")
        stub = cri_grpc.RuntimeServiceStub(channel)  # type: ignore[no-untyped-call]
        wait_until(
            lambda: bool(stub.Version(cri.VersionRequest(), timeout=2).runtime_name),
            "containerd CRI",
        )
        yield node, state, stub
        channel.close()
    finally:
        host.note_sockets()
        if stub is not None:  # a failed test may leave its sandbox: remove it through CRI
            with contextlib.suppress(Exception):
                for sandbox in stub.ListPodSandbox(cri.ListPodSandboxRequest(), timeout=10).items:
                    stub.StopPodSandbox(cri.StopPodSandboxRequest(pod_sandbox_id=sandbox.id))
                    stub.RemovePodSandbox(cri.RemovePodSandboxRequest(pod_sandbox_id=sandbox.id))
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()
        kill_leftovers(state, prefix)
        for line in reversed(Path("/proc/self/mounts").read_text().splitlines()):
            point = line.split()[1]
            if point.startswith(str(state)):
                run(["umount", "-l", point], check=False)
        for hierarchy in hierarchies():
            remove_group_tree(hierarchy / "nodelab" / prefix)
        shutil.rmtree(state, ignore_errors=True)
        host.clean()


def kill_leftovers(state: Path, prefix: str) -> None:
    """Shims (their command line names our state dir) and pod processes (in our cgroups)."""
    pids: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if str(state).encode() in (entry / "cmdline").read_bytes():
                    pids.add(int(entry.name))
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        for procs_file in (hierarchy / "nodelab" / prefix).glob("**/cgroup.procs"):
            with contextlib.suppress(OSError):
                pids |= {int(pid) for pid in procs_file.read_text().split()}
    # killed at once (grace 0), and waited for until each is gone
    terminate_all([p for pid in pids - {os.getpid()} if (p := ProcessId.of(pid))], grace=0)


def test_containerd_pods_get_addresses_from_nodelab_plugins(
    containerd: tuple[str, Path, Any],
) -> None:
    node, state, stub = containerd
    prefix = node.rsplit("-", 1)[0]
    config = cri.PodSandboxConfig(
        metadata=cri.PodSandboxMetadata(name="web", namespace="default", uid=f"{prefix}-uid"),
        linux=cri.LinuxPodSandboxConfig(cgroup_parent=f"/nodelab/{prefix}/pod1"),
        port_mappings=[cri.PortMapping(protocol=cri.TCP, container_port=80, host_port=8080)],
    )
    sandbox = stub.RunPodSandbox(cri.RunPodSandboxRequest(config=config), timeout=120)
    sandbox_id = sandbox.pod_sandbox_id
    try:
        status = stub.PodSandboxStatus(
            cri.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id), timeout=30
        ).status
        ip = status.network.ip
        assert ip.startswith("10.250.8."), status
        run(["ip", "netns", "exec", node, "ping", "-c", "1", "-W", "2", ip])
        reservations = [p.name for p in (state / "networks" / f"{prefix}pods").glob("10.*")]
        assert reservations == [ip]
        assert "CNI-DN-" in run(["ip", "netns", "exec", node, "iptables-save", "-t", "nat"]).stdout
    finally:
        stub.StopPodSandbox(cri.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=60)
        stub.RemovePodSandbox(cri.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=60)
    assert list((state / "networks" / f"{prefix}pods").glob("10.*")) == []
    assert "CNI-DN-" not in run(["ip", "netns", "exec", node, "iptables-save", "-t", "nat"]).stdout
    assert netns_path(node)
