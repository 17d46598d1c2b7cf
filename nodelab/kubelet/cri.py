"""The kubelet's CRI client: the only way it talks to a container runtime.

A thin, typed face over the generated `runtime.v1` stubs (`nodelab.cri.api_pb2_grpc`), for the
calls the kubelet makes. It speaks to any CRI endpoint: nodelab's runtime or containerd's
socket (`unix:///run/containerd/containerd.sock`). Every gRPC failure becomes a `CRIError`
naming the call and the endpoint, so the kubelet's messages say which runtime failed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from nodelab.cri import api_pb2 as cri
from nodelab.cri import api_pb2_grpc as cri_grpc
from nodelab.errors import NodelabError

T = TypeVar("T")


@dataclass(frozen=True)
class RuntimeStatus:
    """CRI `StatusResponse`: the conditions, and the features the runtime says it has."""

    conditions: list[RuntimeCondition]
    supplemental_groups_policy: bool  # it honours supplementalGroupsPolicy: Strict


@dataclass(frozen=True)
class RuntimeCondition:
    """One condition of CRI `StatusResponse.status.conditions`."""

    type: str
    status: bool
    reason: str = ""
    message: str = ""

    def __str__(self) -> str:
        return (f"{self.type}={str(self.status).lower()} reason:{self.reason} "
                f"message:{self.message}")


class CRIError(NodelabError):
    """A CRI call failed (runtime down, or it answered with an error)."""


@dataclass(frozen=True)
class RuntimeVersion:
    runtime_name: str
    runtime_version: str
    runtime_api_version: str

    @property
    def node_info(self) -> str:
        """What `nodeInfo.containerRuntimeVersion` shows (`containerd://1.6.20`)."""
        return f"{self.runtime_name}://{self.runtime_version}"


def _target(endpoint: str) -> str:
    if endpoint.startswith("unix://"):
        return "unix:" + endpoint[len("unix://"):]
    if endpoint.startswith("/"):
        return "unix:" + endpoint
    return endpoint


class CRIClient:
    """Runtime and image service clients on one channel to `endpoint`."""

    def __init__(self, endpoint: str, timeout: float = 10.0) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._channel = grpc.insecure_channel(
            _target(endpoint), options=[("grpc.max_receive_message_length", 16 * 2**20)]
        )
        stubs: Any = cri_grpc
        self.runtime = stubs.RuntimeServiceStub(self._channel)
        self.images = stubs.ImageServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def call(self, name: str, method: Callable[..., T], request: Any,
             timeout: float | None = None) -> T:
        """One CRI call; failures become a CRIError naming the call and the endpoint."""
        try:
            return method(request, timeout=timeout or self.timeout)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            detail = exc.details() if hasattr(exc, "details") else str(exc)
            raise CRIError(
                f"CRI {name} on {self.endpoint} failed ({code}): {detail} "
                "(is the runtime running, and is the endpoint right?)"
            ) from exc

    def version(self) -> RuntimeVersion:
        resp = self.call("Version", self.runtime.Version, cri.VersionRequest(version="v1"))
        return RuntimeVersion(resp.runtime_name, resp.runtime_version, resp.runtime_api_version)

    def status(self) -> list[RuntimeCondition]:
        return self.runtime_status().conditions

    def runtime_status(self) -> RuntimeStatus:
        resp = self.call("Status", self.runtime.Status, cri.StatusRequest())
        conditions = [
            RuntimeCondition(c.type, bool(c.status), c.reason, c.message)
            for c in resp.status.conditions
        ]
        return RuntimeStatus(conditions, bool(resp.features.supplemental_groups_policy))

    def list_pod_sandboxes(self, labels: Mapping[str, str] | None = None) -> list[cri.PodSandbox]:
        flt = cri.PodSandboxFilter(label_selector=dict(labels or {}))
        req = cri.ListPodSandboxRequest(filter=flt)
        return list(self.call("ListPodSandbox", self.runtime.ListPodSandbox, req).items)

    def list_containers(self, labels: Mapping[str, str] | None = None) -> list[cri.Container]:
        flt = cri.ContainerFilter(label_selector=dict(labels or {}))
        req = cri.ListContainersRequest(filter=flt)
        return list(self.call("ListContainers", self.runtime.ListContainers, req).containers)

    def reopen_container_log(self, container_id: str) -> None:
        """Ask the runtime to reopen the log after the kubelet rotated it."""
        req = cri.ReopenContainerLogRequest(container_id=container_id)
        self.call("ReopenContainerLog", self.runtime.ReopenContainerLog, req)

    def container_status(self, container_id: str) -> cri.ContainerStatus:
        req = cri.ContainerStatusRequest(container_id=container_id)
        status: cri.ContainerStatus = self.call("ContainerStatus", self.runtime.ContainerStatus,
                                                req).status
        return status

    def list_container_stats(self) -> list[cri.ContainerStats]:
        req = cri.ListContainerStatsRequest(filter=cri.ContainerStatsFilter())
        return list(self.call("ListContainerStats", self.runtime.ListContainerStats, req).stats)

    def list_pod_sandbox_stats(self) -> list[cri.PodSandboxStats]:
        req = cri.ListPodSandboxStatsRequest(filter=cri.PodSandboxStatsFilter())
        return list(self.call("ListPodSandboxStats", self.runtime.ListPodSandboxStats,
                              req).stats)

    def image_fs_info(self) -> list[cri.FilesystemUsage]:
        resp = self.call("ImageFsInfo", self.images.ImageFsInfo, cri.ImageFsInfoRequest())
        return list(resp.image_filesystems)

    def stop_pod_sandbox(self, sandbox_id: str) -> None:
        req = cri.StopPodSandboxRequest(pod_sandbox_id=sandbox_id)
        self.call("StopPodSandbox", self.runtime.StopPodSandbox, req)

    def stop_container(self, container_id: str, timeout: int = 0) -> None:
        req = cri.StopContainerRequest(container_id=container_id, timeout=timeout)
        self.call("StopContainer", self.runtime.StopContainer, req)

    def exec_url(self, container_id: str, cmd: list[str], *, tty: bool, stdin: bool,
                 stdout: bool, stderr: bool) -> str:
        req = cri.ExecRequest(container_id=container_id, cmd=cmd, tty=tty, stdin=stdin,
                              stdout=stdout, stderr=stderr)
        return str(self.call("Exec", self.runtime.Exec, req).url)

    def attach_url(self, container_id: str, *, tty: bool, stdin: bool, stdout: bool,
                   stderr: bool) -> str:
        req = cri.AttachRequest(container_id=container_id, tty=tty, stdin=stdin,
                                stdout=stdout, stderr=stderr)
        return str(self.call("Attach", self.runtime.Attach, req).url)

    def port_forward_url(self, sandbox_id: str, ports: list[int]) -> str:
        req = cri.PortForwardRequest(pod_sandbox_id=sandbox_id, port=ports)
        return str(self.call("PortForward", self.runtime.PortForward, req).url)
