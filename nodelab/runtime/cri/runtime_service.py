"""The CRI `runtime.v1.RuntimeService`: Version, Status, and the lifecycle of sandboxes and
containers, on top of PodSandboxes and Containers (exec and streaming in `streaming_calls.py`,
stats and events in `stats_calls.py`, shared lookups in `base.py`).

Handlers validate the request (missing metadata -> INVALID_ARGUMENT, unknown ID -> NOT_FOUND),
take the per-container lock where state changes, and answer with messages built in `convert.py`.
Long operations (StopContainer's grace period, ExecSync) run without the global record lock, so
one slow stop does not stall ListContainers, which the kubelet polls constantly.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import grpc

from nodelab.cri import api_pb2 as cri
from nodelab.cri import api_pb2_grpc as cri_grpc
from nodelab.runtime import spec
from nodelab.runtime.config import CRI_API_VERSION, KUBE_API_VERSION, RUNTIME_NAME, RUNTIME_VERSION
from nodelab.runtime.cri import convert
from nodelab.runtime.cri.errors import InvalidArgument, NotFound, Unimplemented, rpc
from nodelab.runtime.cri.stats_calls import StatsRPCs
from nodelab.runtime.cri.streaming_calls import ExecRPCs
from nodelab.runtime.records import config_labels, encode_proto, stored_config


def new_id() -> str:
    return secrets.token_hex(32)


def require_metadata(metadata: Any, what: str, namespace: bool = False) -> None:
    if not metadata.name:
        raise InvalidArgument(f"{what} config must include metadata with a name")
    if namespace and not metadata.namespace:
        raise InvalidArgument(f"{what} config must include metadata with a namespace")


class RuntimeService(ExecRPCs, StatsRPCs, cri_grpc.RuntimeServiceServicer):
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
        # spec.py honours supplementalGroupsPolicy: Strict (no groups from the image)
        return cri.StatusResponse(status=cri.RuntimeStatus(conditions=conditions), info=info,
                                  features=cri.RuntimeFeatures(supplemental_groups_policy=True))

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
            if flt is not None:  # id and labels first: they cost no decoding and no I/O
                if flt.id and not record.id.startswith(flt.id):
                    continue
                labels = config_labels(cri.PodSandboxConfig, record.config)
                if any(labels.get(k) != v for k, v in flt.label_selector.items()):
                    continue
            item = convert.sandbox_item(record, self.pods.ready(record))
            if flt is not None and flt.HasField("state") and flt.state.state != item.state:
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
            if flt is not None:  # id, sandbox and labels first: no decoding, no I/O
                if flt.id and not record.id.startswith(flt.id):
                    continue
                if flt.pod_sandbox_id and not record.sandbox_id.startswith(flt.pod_sandbox_id):
                    continue
                labels = config_labels(cri.ContainerConfig, record.config)
                if any(labels.get(k) != v for k, v in flt.label_selector.items()):
                    continue
            live = self.containers.live_state(record)
            if flt is not None and flt.HasField("state") and flt.state.state != live.state:
                continue
            config = stored_config(cri.ContainerConfig, record.config)
            items.append(convert.container_item(record, config, live))
        return cri.ListContainersResponse(containers=items)

    @rpc
    def ContainerStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.container(request.container_id)
        config = self.containers.config_of(record)
        user = convert.spec_user(self.records.container_dir(record.id) / "config.json")
        status = convert.container_status(record, config, self.containers.live_state(record),
                                          user)
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
            bundle = self.records.container_dir(record.id)
            if record.pid == 0:  # no runc container yet: the bundle's spec gets the values
                spec_path = bundle / "config.json"
                oci = json.loads(spec_path.read_text())
                oci["linux"]["resources"].update(resources)
                spec_path.write_text(json.dumps(oci, indent=1))
            elif self.containers.live_state(record).state in (cri.CONTAINER_RUNNING,
                                                              cri.CONTAINER_CREATED):
                path = bundle / "resources.json"
                path.write_text(json.dumps(resources))
                self.containers.runc("update", "--resources", str(path), record.id)
            record.resources = encode_proto(request.linux)
            self.records.save_container(record)
        return cri.UpdateContainerResourcesResponse()

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
