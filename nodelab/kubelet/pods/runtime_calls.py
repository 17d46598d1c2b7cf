"""The CRI calls of the pod lifecycle, on the kubelet's CRI client, with plan dicts in.

Requests are built from the plans in `cri_plan.py` (protobuf JSON) with `ParseDict`, so what a
notebook shows is exactly what is sent. Long calls get their own deadlines: image pulls
(5 minutes) and container stops (the grace period plus a margin).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from nodelab.cri import api_pb2 as cri
from nodelab.errors import NodelabError
from nodelab.kubelet.container_logs import render
from nodelab.kubelet.cri import CRIClient
from nodelab.kubelet.pods.cri_plan import CONTAINER_NAME, POD_UID, TERMINATION_GRACE
from nodelab.kubelet.pods.network_gate import NetworkState
from nodelab.kubelet.pods.status import Instance
from nodelab.kubelet.pods.termination_message import (
    LOG_BYTES,
    LOG_LINES,
    MAX_MESSAGE_BYTES,
    termination_message,
    with_runtime_message,
)
from nodelab.kubewire.times import from_nanoseconds

PULL_TIMEOUT = 300.0
STATES = {cri.CONTAINER_CREATED: "created", cri.CONTAINER_RUNNING: "running",
          cri.CONTAINER_EXITED: "exited", cri.CONTAINER_UNKNOWN: "unknown"}


def _last_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, os.fstat(handle.fileno()).st_size - MAX_MESSAGE_BYTES))
            return handle.read()
    except OSError:
        return None


def _log_tail(path: str) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return render(text, tail_lines=LOG_LINES).encode()[-LOG_BYTES:].decode(errors="replace")


def exited_message(status: Any) -> str:
    """The runtime's message of an exited container with its termination message added."""
    message = termination_message(
        dict(status.annotations), [(m.container_path, m.host_path) for m in status.mounts],
        int(status.exit_code), status.reason, _last_bytes, lambda: _log_tail(status.log_path))
    return with_runtime_message(status.message, message)


def written_grace(value: str | None) -> int | None:
    """The terminationGracePeriod annotation the kubelet wrote on a container (None: absent
    or not a number: another client made it)."""
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None

class PodRuntime:
    def __init__(self, client: CRIClient) -> None:
        self.client = client
        self.network = NetworkState(lambda: client.status())  # shared by the pod workers

    def _call(self, name: str, method: Any, request: Any, timeout: float | None = None) -> Any:
        return self.client.call(name, method, request, timeout)

    # --- sandboxes ---------------------------------------------------------------------------

    def sandboxes(self, pod_uid: str) -> list[Any]:
        """The pod's sandboxes, newest attempt first."""
        items = self.client.list_pod_sandboxes({POD_UID: pod_uid})
        return sorted(items, key=lambda s: (s.metadata.attempt, s.created_at), reverse=True)

    def all_sandboxes(self) -> list[Any]:
        return self.client.list_pod_sandboxes()

    def sandbox_ip(self, sandbox_id: str) -> str:
        request = cri.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id)
        status = self._call("PodSandboxStatus", self.client.runtime.PodSandboxStatus, request)
        return str(status.status.network.ip)

    def run_sandbox(self, config: Mapping[str, Any]) -> str:
        request = cri.RunPodSandboxRequest(
            config=json_format.ParseDict(dict(config), cri.PodSandboxConfig()))
        response = self._call("RunPodSandbox", self.client.runtime.RunPodSandbox, request, 120)
        return str(response.pod_sandbox_id)

    def stop_sandbox(self, sandbox_id: str) -> None:
        self._call("StopPodSandbox", self.client.runtime.StopPodSandbox,
                   cri.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), 60)

    def remove_sandbox(self, sandbox_id: str) -> None:
        self._call("RemovePodSandbox", self.client.runtime.RemovePodSandbox,
                   cri.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id), 60)

    # --- containers --------------------------------------------------------------------------

    def containers(self, pod_uid: str) -> list[Instance]:
        """Every container instance of the pod, newest attempt first per name."""
        found = []
        for item in self.client.list_containers({POD_UID: pod_uid}):
            found.append(self.instance(item.id, item.labels.get(CONTAINER_NAME, ""),
                                       item.pod_sandbox_id))
        return sorted(found, key=lambda i: (i.name, -i.attempt))

    def instance(self, container_id: str, name: str, sandbox_id: str = "") -> Instance:
        status = self.client.container_status(container_id)
        return Instance(
            id=container_id,
            name=name or status.metadata.name,
            attempt=int(status.metadata.attempt),
            state=STATES.get(status.state, "unknown"),
            image=status.image.image,
            image_id=status.image_ref,
            started_at=from_nanoseconds(status.started_at),
            finished_at=from_nanoseconds(status.finished_at),
            finished=status.finished_at / 1e9,
            exit_code=int(status.exit_code),
            reason=status.reason,
            message=exited_message(status) if status.state == cri.CONTAINER_EXITED
            else status.message,
            sandbox_id=sandbox_id,
            user=linux_user(status),
            grace=written_grace(status.annotations.get(TERMINATION_GRACE)),
        )

    def create_container(self, sandbox_id: str, config: Mapping[str, Any],
                         sandbox_config: Mapping[str, Any]) -> str:
        request = cri.CreateContainerRequest(
            pod_sandbox_id=sandbox_id,
            config=json_format.ParseDict(dict(config), cri.ContainerConfig()),
            sandbox_config=json_format.ParseDict(dict(sandbox_config), cri.PodSandboxConfig()),
        )
        response = self._call("CreateContainer", self.client.runtime.CreateContainer, request, 60)
        return str(response.container_id)

    def start_container(self, container_id: str) -> None:
        self._call("StartContainer", self.client.runtime.StartContainer,
                   cri.StartContainerRequest(container_id=container_id), 60)

    def stop_container(self, container_id: str, timeout: int) -> None:
        self._call("StopContainer", self.client.runtime.StopContainer,
                   cri.StopContainerRequest(container_id=container_id, timeout=timeout),
                   timeout + 30)

    def remove_container(self, container_id: str) -> None:
        self._call("RemoveContainer", self.client.runtime.RemoveContainer,
                   cri.RemoveContainerRequest(container_id=container_id), 60)

    def exec_sync(self, container_id: str, command: list[str], timeout: int) -> tuple[int, str]:
        request = cri.ExecSyncRequest(container_id=container_id, cmd=command, timeout=timeout)
        response = self._call("ExecSync", self.client.runtime.ExecSync, request, timeout + 5)
        output = (response.stdout + response.stderr).decode(errors="replace").strip()
        return int(response.exit_code), output

    # --- images ------------------------------------------------------------------------------

    def image_ref(self, image: str) -> str | None:
        request = cri.ImageStatusRequest(image=cri.ImageSpec(image=image))
        response = self._call("ImageStatus", self.client.images.ImageStatus, request)
        return str(response.image.id) if response.HasField("image") else None

    def image_user(self, image: str) -> tuple[int | None, str]:
        """The image's user as ImageStatus reports it: (uid, "") or (None, name); root when
        the runtime says neither (upstream's getImageUser)."""
        request = cri.ImageStatusRequest(image=cri.ImageSpec(image=image))
        found = self._call("ImageStatus", self.client.images.ImageStatus, request)
        if found.HasField("image"):
            if found.image.HasField("uid"):
                return int(found.image.uid.value), ""
            if found.image.username:
                return None, str(found.image.username)
        return 0, ""

    def pull(self, image: str, sandbox_config: Mapping[str, Any],
             auths: Sequence[Mapping[str, str]] = ()) -> str:
        """PullImage, anonymously or with each credential in turn until one works (upstream's
        kuberuntime PullImage); all failing, the errors joined as upstream's aggregate."""
        errors: list[str] = []
        attempts: list[Mapping[str, str] | None] = [*auths] or [None]
        for auth in attempts:
            request = cri.PullImageRequest(
                image=cri.ImageSpec(image=image),
                auth=cri.AuthConfig(**auth) if auth is not None else None,
                sandbox_config=json_format.ParseDict(dict(sandbox_config),
                                                     cri.PodSandboxConfig()),
            )
            try:
                response = self._call("PullImage", self.client.images.PullImage, request,
                                      PULL_TIMEOUT)
            except NodelabError as exc:
                errors.append(str(exc))
                continue
            return str(response.image_ref)
        raise NodelabError(errors[0] if len(errors) == 1 else f"[{', '.join(errors)}]")


def linux_user(status: Any) -> dict[str, Any] | None:
    """CRI ContainerStatus.user as the API's LinuxContainerUser, None if the runtime gave none
    (containerd before 2.0 does not)."""
    if not status.HasField("user") or not status.user.HasField("linux"):
        return None
    linux = status.user.linux
    return {"uid": int(linux.uid), "gid": int(linux.gid),
            "supplementalGroups": [int(g) for g in linux.supplemental_groups]}
