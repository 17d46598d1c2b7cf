"""ContainerStats, ListContainerStats, PodSandboxStats, ListPodSandboxStats (from cgroups and
the pod netns, see `convert.py` and `runtime/cgroups.py`) and the GetContainerEvents stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc

from nodelab.cri import api_pb2 as cri
from nodelab.runtime.cri import convert
from nodelab.runtime.cri.base import RuntimeServiceBase
from nodelab.runtime.cri.errors import rpc


class StatsRPCs(RuntimeServiceBase):

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
