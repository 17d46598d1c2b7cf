"""The `runtime` process: recover state, then serve CRI on a unix socket until SIGTERM.

Startup is recovery (the same code path after a clean stop and after `kill -9`):

1. load every sandbox and container record from the state dir;
2. ask runc which containers exist under this runtime's runc root: one without a record was
   being created when the runtime died, so it is deleted (nothing is started twice);
3. a container record whose CreateContainer never finished is removed with its rootfs mount; one
   whose StartContainer was cut after `runc create` adopts the PID runc recorded, so the next
   StartContainer only runs `runc start`;
4. a started container without an exit whose monitor is gone (a host reboot, kill -9 of conmon)
   exited with 255, as containerd reports a task whose shim is gone; runc's state of it is
   deleted;
5. a sandbox one of whose namespaces is gone (its network, or the IPC, UTS and PID namespaces
   a hostNetwork pod pins too), or whose RunPodSandbox never finished, is reported NOTREADY
   (the kubelet then stops and removes it, which runs CNI DEL and frees what was made).

Running containers are untouched: their monitors kept running, kept writing logs and will have
written exit files for anything that exited meanwhile, so statuses are true right away.

A watcher thread polls the monitors' exit dir and publishes CONTAINER_STOPPED_EVENT for each
container that exits on its own (GetContainerEvents). Every few seconds it also records the exit
(255) of a started container that ended after its monitor was killed, which nobody else would.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from nodelab.cri import api_pb2_grpc as cri_grpc
from nodelab.host.commands import CommandError
from nodelab.runtime.config import RuntimeConfig
from nodelab.runtime.containers import Containers
from nodelab.runtime.cri.image_service import ImageService
from nodelab.runtime.cri.runtime_service import RuntimeService
from nodelab.runtime.events import EventBus
from nodelab.runtime.images.pull import Puller
from nodelab.runtime.images.store import ImageStore
from nodelab.runtime.monitor import monitor_alive, read_exit, record_lost_exit
from nodelab.runtime.namespaces import is_namespace
from nodelab.runtime.network import CNINetwork, NoNetwork, PodNetwork
from nodelab.runtime.records import RecordStore
from nodelab.runtime.sandboxes import PodSandboxes, pinned_paths
from nodelab.runtime.streaming.server import StreamingServer

log = logging.getLogger("nodelab.runtime")
MONITOR_CHECK_ROUNDS = 25  # the exit watcher's 0.2 s rounds between checks of the monitors (5 s)


def build_network(config: RuntimeConfig) -> PodNetwork:
    if config.cni_conf_dir is None:
        return NoNetwork()
    return CNINetwork(config.cni_conf_dir, config.cni_bin_dirs, config.state_dir / "cni-cache")


@dataclass
class RuntimeServer:
    """Everything one runtime process holds; `start()` recovers and starts serving."""

    config: RuntimeConfig
    network: PodNetwork | None = None
    records: RecordStore = field(init=False)
    images: ImageStore = field(init=False)
    containers: Containers = field(init=False)
    pods: PodSandboxes = field(init=False)
    events: EventBus = field(init=False)
    streaming: StreamingServer = field(init=False)
    runtime_service: RuntimeService = field(init=False)
    grpc_server: grpc.Server | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        self.config.runc_root.mkdir(parents=True, exist_ok=True)
        self.records = RecordStore(self.config.state_dir)
        self.images = ImageStore(self.config.state_dir / "images")
        self.containers = Containers(self.config, self.records, self.images)
        self.pods = PodSandboxes(self.config, self.records,
                                 self.network or build_network(self.config), self.containers)
        self.events = EventBus()
        self.streaming = StreamingServer(self.config, self.records, self.containers)
        self.runtime_service = RuntimeService(self.records, self.pods, self.containers,
                                              self.images, self.events, self.streaming)

    def recover(self) -> None:
        known = set(self.records.containers)
        try:
            listed = json.loads(self.containers.runc("list", "--format", "json") or "[]") or []
        except (CommandError, ValueError):
            listed = []
        for entry in listed:
            if entry.get("id") not in known:
                log.warning("deleting container %s that has no record", entry.get("id"))
                self.containers.runc("delete", "--force", str(entry["id"]), check=False)
        for record in list(self.records.containers.values()):
            if not record.bundle_ready or record.removing:
                self.containers.remove(record.id)
                continue
            if record.pid == 0 and self.containers.runc_knows(record.id):
                state = json.loads((self.config.runc_root / record.id / "state.json").read_text())
                record.pid = int(state.get("init_process_pid") or 0)
                self.records.save_container(record)
            paths = self.containers.paths(record.id)
            if (record.started_at and read_exit(paths) is None
                    and not monitor_alive(paths)):
                log.warning("container %s: its monitor is gone without an exit (host reboot or "
                            "kill -9 of conmon); it exited with 255 (unknown)", record.id[:12])
                record_lost_exit(paths)
                self.containers.runc("delete", "--force", record.id, check=False)
        for sandbox in list(self.records.sandboxes.values()):
            if not all(is_namespace(path) for path in pinned_paths(sandbox)):
                sandbox.state = "NOTREADY"
                self.records.save_sandbox(sandbox)

    def start(self) -> None:
        self.recover()
        socket = self.config.socket
        socket.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            socket.unlink()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=32),
                             options=[("grpc.max_receive_message_length", 16 << 20),
                                      ("grpc.max_send_message_length", 16 << 20)])
        cri_grpc.add_RuntimeServiceServicer_to_server(  # type: ignore[no-untyped-call]
            self.runtime_service, server)
        cri_grpc.add_ImageServiceServicer_to_server(  # type: ignore[no-untyped-call]
            ImageService(self.images, Puller(self.images, self.config.insecure_registries,
                                                max_layer_size=self.config.max_layer_size),
                         self.records), server)
        server.add_insecure_port(f"unix://{socket}")
        self.streaming.start()
        server.start()
        self.grpc_server = server
        threading.Thread(target=self._watch_exits, name="exit-watcher", daemon=True).start()

    def _watch_exits(self) -> None:
        exit_dir = self.config.exit_dir
        exit_dir.mkdir(parents=True, exist_ok=True)
        seen = {p.name for p in exit_dir.iterdir()}
        rounds = 0
        while not self._stop.wait(0.2):
            rounds += 1
            if rounds % MONITOR_CHECK_ROUNDS == 0:
                self._settle_lost_monitors()
            current = {p.name for p in exit_dir.iterdir()}
            for name in current - seen:
                record = self.records.containers.get(name)
                if record is not None:
                    try:
                        self.runtime_service.publish_exit(record)
                    except Exception:  # noqa: BLE001 - the watcher must keep running
                        log.exception("publishing the exit of %s failed", name)
            seen = current

    def _settle_lost_monitors(self) -> None:
        """Record the exit of each started container that ended after its monitor was killed
        (nobody else will write it; its status would say running forever)."""
        for record in list(self.records.containers.values()):
            lock = self.containers.lock(record.id)
            if not lock.acquire(blocking=False):
                continue  # a CRI call on it runs, and settles it if it must; the next round will
            try:
                paths = self.containers.paths(record.id)
                if (record.id in self.records.containers and record.started_at
                        and not record.removing and read_exit(paths) is None):
                    self.containers.ended_unmonitored(record.id, paths)
            except Exception:  # noqa: BLE001 - the watcher must keep running
                log.exception("checking the monitor of %s failed", record.id[:12])
            finally:
                lock.release()

    def stop(self) -> None:
        self._stop.set()
        self.streaming.stop()
        if self.grpc_server is not None:
            self.grpc_server.stop(grace=2).wait()
        with contextlib.suppress(FileNotFoundError):
            Path(self.config.socket).unlink()
