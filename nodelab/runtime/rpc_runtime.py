"""The CRI `runtime.v1.RuntimeService`: every RPC the kubelet calls, on top of PodSandboxes and
Containers.

Handlers validate the request (missing metadata -> INVALID_ARGUMENT, unknown ID -> NOT_FOUND),
take the per-container lock where state changes, and answer with messages built in `convert.py`.
Long operations (StopContainer's grace period, ExecSync) run without the global record lock, so
one slow stop does not stall ListContainers, which the kubelet polls constantly.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
from cri_api.v1 import api_pb2 as cri
from cri_api.v1 import api_pb2_grpc as cri_grpc

from nodelab.runtime import convert, spec
from nodelab.runtime.config import CRI_API_VERSION, KUBE_API_VERSION, RUNTIME_NAME, RUNTIME_VERSION
from nodelab.runtime.containers import Containers
from nodelab.runtime.events import EventBus
from nodelab.runtime.images import ImageStore
from nodelab.runtime.monitor import reopen_log
from nodelab.runtime.pods import PodSandboxes
from nodelab.runtime.records import ContainerRecord, RecordStore, SandboxRecord, encode_proto
from nodelab.runtime.rpc_errors import InvalidArgument, NotFound, Unimplemented, rpc
from nodelab.runtime.streaming import StreamingServer


def new_id() -> str:
    return secrets.token_hex(32)


def require_metadata(metadata: Any, what: str, namespace: bool = False) -> None:
    if not metadata.name:
        raise InvalidArgument(f"{what} config must include metadata with a name")
    if namespace and not metadata.namespace:
        raise InvalidArgument(f"{what} config must include metadata with a namespace")


class RuntimeService(cri_grpc.RuntimeServiceServicer):
    def __init__(self, records: RecordStore, pods: PodSandboxes, containers: Containers,
                 images: ImageStore, events: EventBus, streaming: StreamingServer | None) -> None:
        self.records = records
        self.pods = pods
        self.containers = containers
        self.images = images
        self.events = events
        self.streaming = streaming
        self._exits_published: set[str] = set()
        self._exits_lock = threading.Lock()

    # --- lookups ---------------------------------------------------------------------------

    def sandbox(self, sandbox_id: str) -> SandboxRecord:
        if not sandbox_id:
            raise InvalidArgument("pod sandbox ID must not be empty")
        record = self.records.find_sandbox(sandbox_id)
        if record is None:
            raise NotFound(f"an error occurred when try to find sandbox {sandbox_id!r}: not found")
        return record

    def container(self, container_id: str) -> ContainerRecord:
        if not container_id:
            raise InvalidArgument("container ID must not be empty")
        record = self.records.find_container(container_id)
        if record is None:
            raise NotFound(
                f"an error occurred when try to find container {container_id!r}: not found")
        return record

    def publish(self, record: ContainerRecord, kind: Any) -> None:
        config = self.containers.config_of(record)
        live = self.containers.live_state(record)
        sandbox = self.records.sandboxes.get(record.sandbox_id)
        event = cri.ContainerEventResponse(
            container_id=record.id, container_event_type=kind, created_at=time.time_ns())
        if sandbox is not None:
            event.pod_sandbox_status.CopyFrom(
                convert.sandbox_status(sandbox, self.pods.ready(sandbox)))
        if kind != cri.CONTAINER_DELETED_EVENT:
            event.containers_statuses.append(convert.container_status(record, config, live))
        self.events.publish(event)

    def publish_exit(self, record: ContainerRecord) -> None:
        """CONTAINER_STOPPED_EVENT once per container, whoever notices the exit first."""
        if self.containers.live_state(record).state != cri.CONTAINER_EXITED:
            return
        with self._exits_lock:
            if record.id in self._exits_published:
                return
            self._exits_published.add(record.id)
        self.publish(record, cri.CONTAINER_STOPPED_EVENT)

    # --- runtime ---------------------------------------------------------------------------

    @rpc
    def Version(self, request: Any, context: grpc.ServicerContext) -> Any:
        return cri.VersionResponse(version=KUBE_API_VERSION, runtime_name=RUNTIME_NAME,
                                   runtime_version=RUNTIME_VERSION,
                                   runtime_api_version=CRI_API_VERSION)

    @rpc
    def Status(self, request: Any, context: grpc.ServicerContext) -> Any:
        net_ok, net_reason = self.pods.network.status()
        conditions = [
            cri.RuntimeCondition(type="RuntimeReady", status=True),
            cri.RuntimeCondition(type="NetworkReady", status=net_ok,
                                 reason="" if net_ok else "NetworkPluginNotReady",
                                 message=net_reason),
        ]
        info = {}
        if request.verbose:
            info["config"] = json.dumps({"stateDir": str(self.pods.config.state_dir),
                                         "cgroupRoot": self.pods.config.cgroup_root,
                                         "sandbox": "pinned namespaces (no pause container)"})
        return cri.StatusResponse(status=cri.RuntimeStatus(conditions=conditions), info=info)

    @rpc
    def UpdateRuntimeConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        return cri.UpdateRuntimeConfigResponse()

    @rpc
    def RuntimeConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        return cri.RuntimeConfigResponse(
            linux=cri.LinuxRuntimeConfiguration(cgroup_driver=cri.CGROUPFS))

    # --- sandboxes -------------------------------------------------------------------------

    @rpc
    def RunPodSandbox(self, request: Any, context: grpc.ServicerContext) -> Any:
        if not request.HasField("config") or not request.config.HasField("metadata"):
            raise InvalidArgument("sandbox config must include metadata")
        require_metadata(request.config.metadata, "sandbox", namespace=True)
        record = self.pods.run(new_id(), request.config, request.runtime_handler)
        return cri.RunPodSandboxResponse(pod_sandbox_id=record.id)

    @rpc
    def StopPodSandbox(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.records.find_sandbox(request.pod_sandbox_id)
        if record is None:
            if not request.pod_sandbox_id:
                raise InvalidArgument("pod sandbox ID must not be empty")
            return cri.StopPodSandboxResponse()
        self.pods.stop(record)
        for container in self.records.containers_of(record.id):
            self.publish_exit(container)
        return cri.StopPodSandboxResponse()

    @rpc
    def RemovePodSandbox(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.records.find_sandbox(request.pod_sandbox_id)
        if record is None:
            if not request.pod_sandbox_id:
                raise InvalidArgument("pod sandbox ID must not be empty")
            return cri.RemovePodSandboxResponse()
        containers = self.records.containers_of(record.id)
        for container in containers:
            self.publish_exit(container)
        self.pods.remove(record)
        for container in containers:
            self.publish(container, cri.CONTAINER_DELETED_EVENT)
        return cri.RemovePodSandboxResponse()

    @rpc
    def PodSandboxStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.sandbox(request.pod_sandbox_id)
        response = cri.PodSandboxStatusResponse(
            status=convert.sandbox_status(record, self.pods.ready(record)),
            timestamp=time.time_ns())
        if request.verbose:
            response.info["info"] = json.dumps({"netns": record.netns_path, "ipc": record.ipc_path,
                                                "uts": record.uts_path, "pid": record.pid_path})
        for container in self.records.containers_of(record.id):
            response.containers_statuses.append(convert.container_status(
                container, self.containers.config_of(container),
                self.containers.live_state(container)))
        return response

    @rpc
    def ListPodSandbox(self, request: Any, context: grpc.ServicerContext) -> Any:
        items = []
        flt = request.filter if request.HasField("filter") else None
        for record in list(self.records.sandboxes.values()):
            ready = self.pods.ready(record)
            item = convert.sandbox_item(record, ready)
            if flt is not None:
                if flt.id and not record.id.startswith(flt.id):
                    continue
                if flt.HasField("state") and flt.state.state != item.state:
                    continue
                if any(item.labels.get(k) != v for k, v in flt.label_selector.items()):
                    continue
            items.append(item)
        return cri.ListPodSandboxResponse(items=items)

    # --- containers ------------------------------------------------------------------------

    @rpc
    def CreateContainer(self, request: Any, context: grpc.ServicerContext) -> Any:
        if not request.HasField("config") or not request.config.HasField("metadata"):
            raise InvalidArgument("container config must include metadata")
        require_metadata(request.config.metadata, "container")
        if not request.config.image.image:
            raise InvalidArgument("container config must include an image")
        sandbox = self.sandbox(request.pod_sandbox_id)
        image = self.images.find(request.config.image.image)
        if image is None:
            raise NotFound(f"image {request.config.image.image!r} not found; pull it first")
        record = self.containers.create(new_id(), sandbox, request.config,
                                        request.sandbox_config, image)
        self.publish(record, cri.CONTAINER_CREATED_EVENT)
        return cri.CreateContainerResponse(container_id=record.id)

    @rpc
    def StartContainer(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.container(request.container_id)
        with self.containers.lock(record.id):
            self.containers.start(record)
        self.publish(record, cri.CONTAINER_STARTED_EVENT)
        return cri.StartContainerResponse()

    @rpc
    def StopContainer(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.container(request.container_id)
        with self.containers.lock(record.id):
            self.containers.stop(record, float(request.timeout))
        self.publish_exit(record)
        return cri.StopContainerResponse()

    @rpc
    def RemoveContainer(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.records.find_container(request.container_id)
        if record is None:
            if not request.container_id:
                raise InvalidArgument("container ID must not be empty")
            return cri.RemoveContainerResponse()
        self.publish_exit(record)
        with self.containers.lock(record.id):
            self.containers.remove(record.id)
        self.publish(record, cri.CONTAINER_DELETED_EVENT)
        with self._exits_lock:
            self._exits_published.discard(record.id)
        return cri.RemoveContainerResponse()

    @rpc
    def ListContainers(self, request: Any, context: grpc.ServicerContext) -> Any:
        flt = request.filter if request.HasField("filter") else None
        items = []
        for record in list(self.records.containers.values()):
            if flt is not None:
                if flt.id and not record.id.startswith(flt.id):
                    continue
                if flt.pod_sandbox_id and not record.sandbox_id.startswith(flt.pod_sandbox_id):
                    continue
            config = self.containers.config_of(record)
            live = self.containers.live_state(record)
            if flt is not None:
                if flt.HasField("state") and flt.state.state != live.state:
                    continue
                if any(config.labels.get(k) != v for k, v in flt.label_selector.items()):
                    continue
            items.append(convert.container_item(record, config, live))
        return cri.ListContainersResponse(containers=items)

    @rpc
    def ContainerStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.container(request.container_id)
        config = self.containers.config_of(record)
        status = convert.container_status(record, config, self.containers.live_state(record))
        response = cri.ContainerStatusResponse(status=status)
        if request.verbose:
            response.info["info"] = json.dumps({"pid": record.pid, "sandboxID": record.sandbox_id,
                                                "cgroupsPath": record.cgroups_path})
        return response

    @rpc
    def UpdateContainerResources(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.container(request.container_id)
        if request.HasField("linux"):
            holder = cri.ContainerConfig(linux=cri.LinuxContainerConfig(resources=request.linux))
            resources = spec.resources(holder, spec.HostFacts(
                pids_limit=self.containers.config.pids_limit))
            resources.pop("devices", None)
            path = self.records.container_dir(record.id) / "resources.json"
            path.write_text(json.dumps(resources))
            if self.containers.live_state(record).state in (cri.CONTAINER_RUNNING,
                                                            cri.CONTAINER_CREATED):
                self.containers.runc("update", "--resources", str(path), record.id)
            record.resources = encode_proto(request.linux)
            self.records.save_container(record)
        return cri.UpdateContainerResourcesResponse()

    @rpc
    def ReopenContainerLog(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.container(request.container_id)
        if self.containers.live_state(record).state != cri.CONTAINER_RUNNING:
            raise InvalidArgument(f"container {record.id[:12]} is not running; "
                                  "only a running container's log can be reopened")
        reopen_log(self.containers.paths(record.id))
        return cri.ReopenContainerLogResponse()

    # --- exec and streaming ----------------------------------------------------------------

    @rpc
    def ExecSync(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.container(request.container_id)
        if not request.cmd:
            raise InvalidArgument("ExecSync needs a command")
        if self.containers.live_state(record).state != cri.CONTAINER_RUNNING:
            raise InvalidArgument(f"container {record.id[:12]} is not running")
        out, err, code = self.containers.exec_sync(record, list(request.cmd),
                                                   float(request.timeout))
        return cri.ExecSyncResponse(stdout=out, stderr=err, exit_code=code)

    def _streaming(self) -> StreamingServer:
        if self.streaming is None:
            raise Unimplemented("the streaming server is disabled in this runtime")
        return self.streaming

    @rpc
    def Exec(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.container(request.container_id)
        if not request.cmd:
            raise InvalidArgument("Exec needs a command")
        if not (request.stdin or request.stdout or request.stderr):
            raise InvalidArgument("one of stdin, stdout, or stderr must be set")
        if self.containers.live_state(record).state != cri.CONTAINER_RUNNING:
            raise InvalidArgument(f"container {record.id[:12]} is not running")
        url = self._streaming().register("exec", request)
        return cri.ExecResponse(url=url)

    @rpc
    def Attach(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.container(request.container_id)
        if self.containers.live_state(record).state != cri.CONTAINER_RUNNING:
            raise InvalidArgument(f"container {record.id[:12]} is not running")
        url = self._streaming().register("attach", request)
        return cri.AttachResponse(url=url)

    @rpc
    def PortForward(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.sandbox(request.pod_sandbox_id)
        if not self.pods.ready(record):
            raise InvalidArgument(f"sandbox {record.id[:12]} is not ready")
        url = self._streaming().register("portforward", request)
        return cri.PortForwardResponse(url=url)

    # --- stats -----------------------------------------------------------------------------

    @rpc
    def ContainerStats(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.container(request.container_id)
        stats = convert.container_stats(record, self.containers.config_of(record),
                                        self.containers)
        return cri.ContainerStatsResponse(stats=stats)

    @rpc
    def ListContainerStats(self, request: Any, context: grpc.ServicerContext) -> Any:
        flt = request.filter if request.HasField("filter") else None
        result = []
        for record in list(self.records.containers.values()):
            config = self.containers.config_of(record)
            if flt is not None:
                if flt.id and not record.id.startswith(flt.id):
                    continue
                if flt.pod_sandbox_id and not record.sandbox_id.startswith(flt.pod_sandbox_id):
                    continue
                if any(config.labels.get(k) != v for k, v in flt.label_selector.items()):
                    continue
            if self.containers.live_state(record).state != cri.CONTAINER_RUNNING:
                continue
            result.append(convert.container_stats(record, config, self.containers))
        return cri.ListContainerStatsResponse(stats=result)

    @rpc
    def PodSandboxStats(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.sandbox(request.pod_sandbox_id)
        return cri.PodSandboxStatsResponse(stats=convert.sandbox_stats(record, self.containers))

    @rpc
    def ListPodSandboxStats(self, request: Any, context: grpc.ServicerContext) -> Any:
        flt = request.filter if request.HasField("filter") else None
        result = []
        for record in list(self.records.sandboxes.values()):
            if flt is not None and flt.id and not record.id.startswith(flt.id):
                continue
            stats = convert.sandbox_stats(record, self.containers)
            if flt is not None and any(stats.attributes.labels.get(k) != v
                                       for k, v in flt.label_selector.items()):
                continue
            result.append(stats)
        return cri.ListPodSandboxStatsResponse(stats=result)

    def GetContainerEvents(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        queue = self.events.subscribe()
        context.add_callback(lambda: self.events.unsubscribe(queue))
        try:
            while context.is_active():
                try:
                    yield queue.get(timeout=0.5)
                except Exception:  # noqa: BLE001 - queue.Empty: check the stream is alive
                    continue
        finally:
            self.events.unsubscribe(queue)

    # --- not provided ----------------------------------------------------------------------

    @rpc
    def CheckpointContainer(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise Unimplemented("CheckpointContainer is not implemented by nodelab's runtime "
                            "(container checkpointing needs CRIU)")

    @rpc
    def ListMetricDescriptors(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise Unimplemented("ListMetricDescriptors is not implemented by nodelab's runtime; "
                            "use ListContainerStats / ListPodSandboxStats")

    @rpc
    def ListPodSandboxMetrics(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise Unimplemented("ListPodSandboxMetrics is not implemented by nodelab's runtime; "
                            "use ListPodSandboxStats")

    @rpc
    def UpdatePodSandboxResources(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise Unimplemented("UpdatePodSandboxResources is not implemented by nodelab's runtime "
                            "(pod-level cgroups are managed by the kubelet)")
