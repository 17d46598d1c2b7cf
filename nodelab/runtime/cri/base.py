"""What every part of the RuntimeService shares: the stores, lookups that answer NOT_FOUND, and
publishing container events (GetContainerEvents).

The service is split by topic: lifecycle of sandboxes and containers (`runtime_service.py`),
exec and streaming (`streaming_calls.py`), stats and events (`stats_calls.py`).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from nodelab.cri import api_pb2 as cri
from nodelab.runtime.containers import Containers
from nodelab.runtime.cri import convert
from nodelab.runtime.cri.errors import InvalidArgument, NotFound
from nodelab.runtime.events import EventBus
from nodelab.runtime.images.store import ImageStore
from nodelab.runtime.records import ContainerRecord, RecordStore, SandboxRecord
from nodelab.runtime.sandboxes import PodSandboxes
from nodelab.runtime.streaming.server import StreamingServer


class RuntimeServiceBase:
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
