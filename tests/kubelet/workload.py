"""Real pods for the kubelet server tests: a local registry, a busybox image, and a pod run
through CRI with the labels every kubelet puts on its sandboxes and containers.

Part 1 of the kubelet does not start pods yet (that is the pod workers' job, issue part 2),
so `run_pod` does here what they will do: `RunPodSandbox` + `CreateContainer` +
`StartContainer` on the *real* runtime, labelled `io.kubernetes.pod.{namespace,name,uid}` and
`io.kubernetes.container.name`, with logs at `<log dir>/<container>/<attempt>.log`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from nodelab.cri import api_pb2 as cri
from nodelab.cri import api_pb2_grpc as cri_grpc
from nodelab.oci.distribution import RegistryClient
from nodelab.oci.image import Entry, ImageConfig, Layer, build_image
from nodelab.oci.push import push_image

APPLETS = ("sh", "sleep", "cat", "echo", "ls", "tar", "httpd", "mkdir", "true", "false", "wc",
           "head", "tail", "env", "test", "kill", "ps", "id", "rm", "stat", "touch", "seq")


@dataclass(frozen=True)
class Registry:
    address: str  # 127.0.0.1:<port>
    storage: Path  # another docker-registry may serve the same images elsewhere


@contextlib.contextmanager
def local_registry(tmp: Path) -> Iterator[Registry]:
    """Debian's docker-registry on 127.0.0.1 with `busybox` and `pause` pushed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    storage = tmp / "storage"
    storage.mkdir(parents=True)
    config = tmp / "config.yml"
    config.write_text("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                      f"    rootdirectory: {storage}\nhttp:\n  addr: 127.0.0.1:{port}\n")
    with (tmp / "registry.log").open("wb") as log:
        proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log,
                                stderr=log)
    try:
        deadline = time.time() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("docker-registry did not start") from None
                time.sleep(0.1)
        entries = [Entry.dir(d) for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root")]
        entries.append(Entry.file("bin/busybox", Path("/bin/busybox").read_bytes(), 0o755))
        entries += [Entry.symlink(f"bin/{a}", "/bin/busybox") for a in APPLETS]
        entries.append(Entry.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"))
        image = build_image([Layer.from_entries(entries, "busybox")], ImageConfig(cmd=("sh",)))
        client = RegistryClient(f"127.0.0.1:{port}", scheme="http")
        push_image(client, "busybox", "latest", image)
        pause = build_image([Layer.from_entries(entries, "busybox")],
                            ImageConfig(cmd=("sleep", "infinity")))
        push_image(client, "pause", "latest", pause)
        yield Registry(f"127.0.0.1:{port}", storage)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(10)


@dataclass
class RunningPod:
    namespace: str
    name: str
    uid: str
    sandbox_id: str
    containers: dict[str, str]


class PodRunner:
    """Runs pods on a CRI endpoint the way a kubelet's pod workers do."""

    def __init__(self, endpoint: str, image: str, log_root: Path,
                 cgroup_base: str = "/pods") -> None:
        channel = grpc.insecure_channel(endpoint.replace("unix://", "unix:"))
        stubs: Any = cri_grpc
        self.rt = stubs.RuntimeServiceStub(channel)
        self.images = stubs.ImageServiceStub(channel)
        self.image, self.log_root, self.cgroup_base = image, log_root, cgroup_base

    def pull(self) -> None:
        self.images.PullImage(cri.PullImageRequest(image=cri.ImageSpec(image=self.image)),
                              timeout=120)

    def run_pod(self, namespace: str, name: str, uid: str,
                containers: list[tuple[str, int, str]]) -> RunningPod:
        """`containers`: (name, attempt, shell script); each attempt is started in order."""
        labels = {"io.kubernetes.pod.namespace": namespace, "io.kubernetes.pod.name": name,
                  "io.kubernetes.pod.uid": uid}
        logs = self.log_root / f"{namespace}_{name}_{uid}"
        config = cri.PodSandboxConfig(
            metadata=cri.PodSandboxMetadata(name=name, namespace=namespace, uid=uid),
            hostname=name, log_directory=str(logs), labels=labels,
            linux=cri.LinuxPodSandboxConfig(cgroup_parent=f"{self.cgroup_base}/{uid}"))
        sandbox = self.rt.RunPodSandbox(cri.RunPodSandboxRequest(config=config),
                                        timeout=60).pod_sandbox_id
        ids: dict[str, str] = {}
        for cname, attempt, script in containers:
            cconfig = cri.ContainerConfig(
                metadata=cri.ContainerMetadata(name=cname, attempt=attempt),
                image=cri.ImageSpec(image=self.image), command=["/bin/sh", "-c"],
                args=[script], log_path=f"{cname}/{attempt}.log",
                labels={**labels, "io.kubernetes.container.name": cname})
            cid = self.rt.CreateContainer(cri.CreateContainerRequest(
                pod_sandbox_id=sandbox, config=cconfig, sandbox_config=config),
                timeout=60).container_id
            self.rt.StartContainer(cri.StartContainerRequest(container_id=cid), timeout=30)
            if attempt == 0 and any(c[0] == cname and c[1] > 0 for c in containers):
                self.wait_exited(cid)
            ids[cname] = cid
        return RunningPod(namespace, name, uid, sandbox, ids)

    def wait_exited(self, cid: str, timeout: float = 20) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            status = self.rt.ContainerStatus(cri.ContainerStatusRequest(container_id=cid),
                                             timeout=10).status
            if status.state == cri.CONTAINER_EXITED:
                return
            time.sleep(0.1)
        raise AssertionError(f"container {cid} did not exit")

    def remove_all(self) -> None:
        for sandbox in self.rt.ListPodSandbox(cri.ListPodSandboxRequest(), timeout=10).items:
            with contextlib.suppress(grpc.RpcError):
                self.rt.StopPodSandbox(cri.StopPodSandboxRequest(pod_sandbox_id=sandbox.id),
                                       timeout=60)
                self.rt.RemovePodSandbox(
                    cri.RemovePodSandboxRequest(pod_sandbox_id=sandbox.id), timeout=60)
