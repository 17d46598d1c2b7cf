"""The kubelet process's body: register, then keep the Lease, the status and the server going.

`Kubelet.start()` runs, in order:

1. connect to the runtime over CRI and read its `Version` (for `containerRuntimeVersion`);
2. record the `Starting` node event and register the Node (`registration.register_node`,
   backoff capped at 7 s; an existing Node is taken over, so a restart is seamless);
3. start the node informer (`node/informer.py`: a reflector on its own Node, which admission
   and the status loop read instead of GETting the Node);
4. start the threads: the **lease loop** (renew `kube-node-lease/<node>` every
   `lease_renew_interval`), the **status loop** (compute every `nodeStatusUpdateFrequency`,
   post on change or every `nodeStatusReportFrequency`, record the transition events), the
   **fast status update** (upstream's fastStatusUpdateOnce: until the node is Ready, ask the
   runtime every 100 ms and post the moment it would be; `heartbeat.fast_status_step`), the
   **eviction loop** (`evictor.Evictor`) and the **kubelet server** on `port` (`server.py`).

Status is computed from the real machine (`machine.read_machine`), the runtime's CRI
`Status` (Ready follows RuntimeReady and NetworkReady) and the evictor's pressure conditions.
The previous conditions are read back from the API server after registration, so transition
times (and `Ready`) survive a kubelet restart.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from functools import partial
from typing import Any

from nodelab.kube.recorder import EventRecorder
from nodelab.kubelet.api import STRATEGIC_PATCH, connect, status_of
from nodelab.kubelet.config import KubeletSettings
from nodelab.kubelet.cri import CRIClient, CRIError
from nodelab.kubelet.events import node_event
from nodelab.kubelet.eviction.evictor import Evictor
from nodelab.kubelet.log_rotation import rotate_container_logs
from nodelab.kubelet.machine import read_machine
from nodelab.kubelet.node.conditions import compute_conditions, runtime_errors
from nodelab.kubelet.node.heartbeat import (
    FAST_STATUS_INTERVAL,
    LEASE_NAMESPACE,
    fast_status_step,
    lease_object,
    should_post_status,
)
from nodelab.kubelet.node.informer import NodeInformer
from nodelab.kubelet.node.node_object import (
    allocatable_values,
    capacity_values,
    extended_allocatable,
    node_features,
    node_object,
    node_status,
)
from nodelab.kubelet.node.registration import register_node
from nodelab.kubelet.pods.dns import read_resolv_conf
from nodelab.kubelet.pods.manager import PodManager
from nodelab.kubelet.pods.settings import PodSettings
from nodelab.kubelet.pods.volumes.pod_volumes import local_volume_usage
from nodelab.kubelet.stats.kubelet_metrics import metrics_text
from nodelab.kubelet.stats.provider import StatsProvider
from nodelab.kubelet.stats.sources import CONTAINER_STATES, container_storage
from nodelab.kubewire.times import micro_time, now

log = logging.getLogger("nodelab.kubelet")


class Kubelet:
    def __init__(self, settings: KubeletSettings) -> None:
        self.settings = settings
        self.config = settings.config
        self.name = settings.node_name
        self.api = connect(settings.kubeconfig)
        self.cri = CRIClient(settings.cri_endpoint)
        self.recorder = EventRecorder(self.api)  # the one for every event this kubelet records
        self.evictor = Evictor(self.api, self.cri, self.name, settings.state_dir,
                               self.config, self.recorder)
        self.node_informer = NodeInformer(self.api, self.name)
        self.stop_event = threading.Event()
        self.node_uid: str | None = None
        self.runtime_version = "unknown://0"
        self._conditions: list[dict[str, Any]] = []
        self._posted: dict[str, Any] | None = None
        self._posted_at: float | None = None
        self._status_lock = threading.Lock()  # the status loop and the fast update post
        self._threads: list[threading.Thread] = []
        self.server: Any = None
        self.pods: PodManager | None = None
        self.status_posts = 0
        self.started_at = now()
        self.stats = StatsProvider(self.name, self.started_at, self.cri, self.config.cgroup_root,
                                   settings.state_dir / "logs" / "pods",
                                   lambda: self._facts().memory_bytes,
                                   lambda: self.evictor.observed)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> bool:
        """Register and start the loops; False if stopped before registration finished."""
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        self._read_runtime_version()
        self._record_node_event("Starting")
        try:
            self.evictor.synchronize()
        except Exception:
            log.exception("first eviction pass failed")
        node = node_object(self.name, self.settings.node_ip, self._facts(), self.config,
                           self.runtime_version)
        stored = register_node(self.api, node, self.config.register_retry_cap,
                               self.stop_event)
        if stored is None:
            return False
        self.node_uid = stored.get("metadata", {}).get("uid")
        self.node_informer.start()  # after registration: its first list holds the Node
        self._conditions = list((stored.get("status") or {}).get("conditions") or [])
        for first, what in ((self.update_status, "status"), (self.renew_lease, "lease")):
            try:
                first()
            except Exception as exc:  # the loops retry; starting must not fail on one error
                log.warning("first %s update failed, will retry: %s", what, exc)
        loops = [("lease", self._lease_loop), ("status", self._status_loop),
                 ("fast-status", self._fast_status_update),
                 ("eviction", lambda: self.evictor.run(self.stop_event)),
                 ("logs", self._log_rotation_loop)]
        self.pods = PodManager(self.api, self.cri, PodSettings(
            node_name=self.name, node_ip=self.settings.node_ip,
            state_dir=self.settings.state_dir, log_root=self.stats.log_root,
            memory_capacity=self._facts().memory_bytes,
            allocatable=allocatable_values(capacity_values(self._facts(), self.config),
                                           self.config),
            allowed_unsafe_sysctls=self.config.allowed_unsafe_sysctls,
            runtime_name=self.runtime_version.split("://")[0],
            cgroup_root=self.config.cgroup_root,
            cluster_dns=self.config.cluster_dns, cluster_domain=self.config.cluster_domain,
            node_resolv=read_resolv_conf(self.config.resolv_conf),
            backoff_max=self.config.crash_loop_back_off_max,
            backoff_initial=min(10.0, self.config.crash_loop_back_off_max)),
            node=self.node_informer.get, pressure=self.evictor.pressure, recorder=self.recorder)
        self.evictor.pods = self.pods  # evictions now go through the pods' workers
        self.evictor.volume_usage = partial(local_volume_usage, self.settings.state_dir)
        self.evictor.container_storage = partial(container_storage, self.cri,
                                                 self.stats.log_root)
        loops.append(("pods", self.pods.start))
        if self.settings.serve:
            from nodelab.kubelet.server.https import KubeletServer

            self.server = KubeletServer(self)
            loops.append(("server", self.server.serve_forever))
        for name, target in loops:
            thread = threading.Thread(target=target, name=f"kubelet-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return True

    def stop(self) -> None:
        self.stop_event.set()
        self.node_informer.stop()
        if self.pods is not None:
            self.pods.stop()
        if self.server is not None:
            self.server.shutdown()
        for thread in self._threads:
            thread.join(timeout=5)
        self.cri.close()

    # --- facts -----------------------------------------------------------------------------

    def _facts(self) -> Any:
        return read_machine(self.settings.state_dir, hostname=self.name)

    def _read_runtime_version(self) -> None:
        try:
            self.runtime_version = self.cri.version().node_info
        except CRIError as exc:
            log.warning("%s", exc)

    # --- events ----------------------------------------------------------------------------

    def _record_node_event(self, reason: str) -> None:
        kind = "Warning" if reason in ("NodeNotReady",) else "Normal"
        self.recorder.record(node_event(self.name, reason, now(), kind))

    # --- status ----------------------------------------------------------------------------

    def compute_status(self) -> tuple[dict[str, Any], list[str]]:
        """The status to post now and the events of its condition transitions."""
        features: bool | None = None
        try:
            runtime = self.cri.runtime_status()
            errors, features = (runtime_errors(runtime.conditions),
                                runtime.supplemental_groups_policy)
            if self.runtime_version.startswith("unknown"):
                self._read_runtime_version()
        except CRIError as exc:
            log.warning("%s", exc)
            errors = runtime_errors(None)
        status = node_status(self.settings.node_ip, self._facts(), self.config,
                             self.runtime_version)
        status |= node_features(features)
        status["allocatable"] |= extended_allocatable(self._status_on_node(),
                                                      status["capacity"])
        conditions, events = compute_conditions(self._conditions, self.evictor.pressure(),
                                                errors, now())
        status["conditions"] = conditions
        return status, events

    def _status_on_node(self) -> dict[str, Any]:
        """The Node's status as the node informer has it (upstream reads the lister before
        each update), or {} when it cannot be read now."""
        try:
            node = self.node_informer.get()
        except Exception as exc:
            log.warning("cannot read node %s: %s", self.name, exc)
            return {}
        return dict(node.get("status") or {})

    def update_status(self) -> bool:
        """Compute the status; post it if it changed or is due. True if posted."""
        with self._status_lock:
            return self._update_status()

    def _update_status(self) -> bool:
        status, events = self.compute_status()
        self._conditions = status["conditions"]
        now = time.monotonic()
        if not should_post_status(self._posted, status, self._posted_at, now,
                                  self.config.node_status_report_frequency):
            return False
        self.api.patch("nodes", None, self.name, {"status": status}, subresource="status",
                       content_type=STRATEGIC_PATCH)
        self._posted, self._posted_at = status, now
        self.status_posts += 1
        for reason in events:
            self._record_node_event(reason)
        return True

    def _status_loop(self) -> None:
        while not self.stop_event.wait(self.config.node_status_update_frequency):
            try:
                self.update_status()
            except Exception as exc:
                log.warning("error updating node status, will retry: %s", exc)

    def _posted_ready(self) -> bool:
        conditions = (self._posted or {}).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    def _fast_status_update(self) -> None:
        """Upstream's fastStatusUpdateOnce: post the status as soon as the node would be Ready,
        instead of at the status loop's next round (`heartbeat.fast_status_step`)."""
        start = time.monotonic()
        while not self.stop_event.wait(FAST_STATUS_INTERVAL):
            try:
                errors = runtime_errors(self.cri.runtime_status().conditions)
            except CRIError:
                errors = runtime_errors(None)
            step = fast_status_step(self._posted_ready(), errors, time.monotonic() - start)
            if step == "stop":
                if not self._posted_ready():
                    log.error("node %s not becoming ready in time after startup", self.name)
                return
            if step == "post":
                try:
                    self.update_status()
                except Exception as exc:  # the next round tries again
                    log.warning("fast node status update failed, will retry: %s", exc)

    def _log_rotation_loop(self) -> None:
        """Rotate containers' logs past containerLogMaxSize (`log_rotation.py`)."""
        while not self.stop_event.wait(self.config.container_log_monitor_interval):
            try:
                rotate_container_logs(self.cri, self.config.container_log_max_size,
                                      self.config.container_log_max_files)
            except Exception as exc:
                log.warning("container log rotation failed, will retry: %s", exc)

    # --- what the server shows ------------------------------------------------------------

    def stats_summary(self) -> dict[str, Any]:
        return self.stats.summary()

    def resource_metrics(self) -> str:
        return self.stats.resource_metrics()

    def metrics(self) -> str:
        states: dict[str, int] = {}
        running_pods = 0
        try:
            for container in self.cri.list_containers():
                state = CONTAINER_STATES.get(container.state, "unknown")
                states[state] = states.get(state, 0) + 1
            running_pods = sum(1 for s in self.cri.list_pod_sandboxes() if s.state == 0)
        except CRIError as exc:
            log.warning("metrics without runtime figures: %s", exc)
        evictions: dict[str, int] = {}
        for signal, _ in self.evictor.evicted:
            evictions[signal] = evictions.get(signal, 0) + 1
        return metrics_text(self.name, running_pods, states, evictions, self.status_posts)

    # --- lease -----------------------------------------------------------------------------

    def renew_lease(self) -> None:
        now = datetime.datetime.now(datetime.timezone.utc)
        wanted = lease_object(self.name, self.node_uid, self.config.node_lease_duration_seconds,
                              micro_time(now), micro_time(now))
        try:
            current = self.api.get("leases", LEASE_NAMESPACE, self.name)
        except Exception as exc:
            if status_of(exc) != 404:
                raise
            self.api.create("leases", LEASE_NAMESPACE, wanted)
            return
        spec = current.setdefault("spec", {})
        if spec.get("holderIdentity") == self.name and spec.get("acquireTime"):
            wanted["spec"]["acquireTime"] = spec["acquireTime"]
        current["spec"] = {**spec, **wanted["spec"]}
        if self.node_uid and not current["metadata"].get("ownerReferences"):
            current["metadata"]["ownerReferences"] = wanted["metadata"]["ownerReferences"]
        self.api.replace("leases", LEASE_NAMESPACE, self.name, current)

    def _lease_loop(self) -> None:
        while not self.stop_event.wait(self.config.lease_renew_interval):
            try:
                self.renew_lease()
            except Exception as exc:
                log.warning("failed to renew lease %s/%s: %s", LEASE_NAMESPACE, self.name, exc)
