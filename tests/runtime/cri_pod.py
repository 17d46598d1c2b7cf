"""A pod made through CRI, with helpers to run containers in it (shared by the suites)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

from nodelab.cri import api_pb2 as cri
from nodelab.lab.cri_harness.endpoint import Endpoint


class Pod:
    """A sandbox made through CRI, with helpers to run containers in it."""

    def __init__(self, endpoint: Endpoint, tmp: Path, name: str | None = None, **extra: Any):
        self.endpoint = endpoint
        self.rt = endpoint.runtime_stub()
        self.name = name or f"pod-{secrets.token_hex(3)}"
        self.logs = tmp / f"logs-{self.name}"
        self.config = cri.PodSandboxConfig(
            metadata=cri.PodSandboxMetadata(name=self.name, namespace="default",
                                            uid=secrets.token_hex(8), attempt=0),
            hostname=self.name, log_directory=str(self.logs),
            labels={"app": self.name, "suite": "cri"},
            linux=cri.LinuxPodSandboxConfig(
                cgroup_parent=f"{endpoint.cgroup_base}/{self.name}"), **extra)
        self.id = self.rt.RunPodSandbox(cri.RunPodSandboxRequest(config=self.config),
                                        timeout=60).pod_sandbox_id

    def container(self, name: str, args: list[str], start: bool = True, **extra: Any) -> str:
        image = extra.pop("image", None) or cri.ImageSpec(image=self.endpoint.image())
        if image.image != self.endpoint.image():
            self.endpoint.image_stub().PullImage(cri.PullImageRequest(image=image), timeout=120)
        config = cri.ContainerConfig(
            metadata=cri.ContainerMetadata(name=name, attempt=0), image=image,
            command=["/bin/sh", "-c"], args=args, log_path=f"{name}/0.log",
            labels={"container": name}, **extra)
        cid: str = self.rt.CreateContainer(cri.CreateContainerRequest(
            pod_sandbox_id=self.id, config=config, sandbox_config=self.config), timeout=60
        ).container_id
        if start:
            self.rt.StartContainer(cri.StartContainerRequest(container_id=cid), timeout=30)
        return cid

    def status(self, cid: str) -> Any:
        return self.rt.ContainerStatus(cri.ContainerStatusRequest(container_id=cid),
                                       timeout=10).status

    def wait_state(self, cid: str, state: int, timeout: float = 20) -> Any:
        deadline = time.time() + timeout
        while time.time() < deadline:
            status = self.status(cid)
            if status.state == state:
                return status
            time.sleep(0.1)
        raise AssertionError(f"container did not reach {state}: {self.status(cid)}")

    def wait_log(self, name: str, text: str, timeout: float = 20, log: str = "0.log") -> str:
        """The container's CRI log once it holds `text` (e.g. a script's `echo ready` after it
        set its traps): what a test waits for instead of sleeping."""
        path = self.logs / name / log
        deadline = time.time() + timeout
        while time.time() < deadline:
            content = path.read_text(errors="replace") if path.exists() else ""
            if text in content:
                return content
            time.sleep(0.05)
        raise AssertionError(f"{path} does not say {text!r} after {timeout}s")

    def wait_listening(self, cid: str, port: int, timeout: float = 20) -> None:
        """Until a TCP socket listens on `port` in the pod's network namespace (as the
        container's /proc/net/tcp and tcp6 list it: state 0A), e.g. `nc -l` has started."""
        wanted = f":{port:04X}"
        deadline = time.time() + timeout
        while True:
            tables = self.exec(cid, ["cat", "/proc/net/tcp", "/proc/net/tcp6"]).stdout.decode()
            for line in tables.splitlines()[1:]:
                fields = line.split()
                if len(fields) > 3 and fields[1].endswith(wanted) and fields[3] == "0A":
                    return
            if time.time() > deadline:
                raise AssertionError(f"nothing listens on port {port} after {timeout}s:\n"
                                     f"{tables}")
            time.sleep(0.05)

    def exec(self, cid: str, cmd: list[str], timeout: int = 10) -> Any:
        return self.rt.ExecSync(cri.ExecSyncRequest(container_id=cid, cmd=cmd, timeout=timeout),
                                timeout=timeout + 10)

    def remove(self) -> None:
        self.rt.StopPodSandbox(cri.StopPodSandboxRequest(pod_sandbox_id=self.id), timeout=60)
        self.rt.RemovePodSandbox(cri.RemovePodSandboxRequest(pod_sandbox_id=self.id), timeout=60)
