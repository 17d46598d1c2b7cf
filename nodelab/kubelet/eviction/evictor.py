"""The eviction loop: measure the signals, keep the pressure conditions, evict one pod.

Every `evictionMonitoringPeriod` the `Evictor` measures the signals (`signals.measure`),
finds the hard thresholds met (`thresholds.thresholds_met`), remembers when each pressure
condition was last seen (so it stays True for `evictionPressureTransitionPeriod`), and, while a
threshold is met, evicts the first pod of the upstream ranking (`eviction.rank_pods`): its
worker is marked evicted (it starts nothing from then on), its status becomes Failed/Evicted,
then the worker stops its containers and sandbox through CRI (upstream also kills evicted
pods through the pod worker; stopping the sandbox here first let the worker, still seeing a
Running pod, restart it), and a Warning `Evicted` event is recorded. Before the pod manager
runs (the first pass), the sandboxes labelled with its UID are stopped here instead. The
candidates are the active pods (upstream's activePodsFunc): those the pod manager admitted,
or, in the first pass, those whose sandboxes the runtime holds; never a pod still waiting for
admission, which may refuse it (`pods/admission/pressure.py`).

Before the thresholds, local storage (`local_storage.py`): a pod whose disk-backed emptyDir
holds more than its `sizeLimit`, or that uses more than its `ephemeral-storage` limit, or one
of whose containers does, is evicted at once (the agent wires the measures: `volume_usage`,
the emptyDirs' bytes, and `container_storage`, the containers' writable layers plus logs).

Pod usage comes from CRI `ListContainerStats` (working set for memory, writable layer for
disk), keyed by the `io.kubernetes.pod.uid` / `io.kubernetes.container.name` labels every
kubelet puts on its containers; a pod the runtime does not know uses nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from nodelab.kube.recorder import EventRecorder
from nodelab.kubelet.api import STRATEGIC_PATCH, ApiAccess
from nodelab.kubelet.config import KubeletConfig
from nodelab.kubelet.cri import CRIClient, CRIError
from nodelab.kubelet.events import pod_event
from nodelab.kubelet.eviction.critical import is_critical
from nodelab.kubelet.eviction.local_storage import PodStorage, local_storage_eviction, watched
from nodelab.kubelet.eviction.ranking import PodUsage, evicted_status, eviction_message, rank_pods
from nodelab.kubelet.eviction.signals import measure
from nodelab.kubelet.eviction.thresholds import (
    SIGNAL_RESOURCE,
    Observation,
    Threshold,
    active_conditions,
    conditions_of,
    parse_thresholds,
    remember_conditions,
    thresholds_met,
)
from nodelab.kubewire.times import now as now_time

log = logging.getLogger("nodelab.kubelet")
POD_UID_LABEL = "io.kubernetes.pod.uid"
CONTAINER_NAME_LABEL = "io.kubernetes.container.name"


class PodKiller(Protocol):
    """The pod manager's side of an eviction (pods/manager.py)."""

    def mark_evicted(self, uid: str) -> bool: ...

    def wake(self, uid: str) -> None: ...

    def active_pods(self) -> list[dict[str, Any]] | None: ...


class Evictor:
    """Pressure conditions and evictions for one node; `pods` is set once the pod manager
    runs (evictions then go through the pod's worker)."""

    def __init__(self, api: ApiAccess, cri: CRIClient, node_name: str, state_dir: Path,
                 config: KubeletConfig, recorder: EventRecorder | None = None) -> None:
        self.api, self.cri, self.node_name = api, cri, node_name
        self.recorder = recorder or EventRecorder(api)  # the kubelet's one
        self.state_dir, self.config = state_dir, config
        self.thresholds = parse_thresholds(config.eviction_hard)
        self._last_observed: dict[str, float] = {}
        self._lock = threading.Lock()
        self.observed: dict[str, Observation] = {}
        self.evicted: list[tuple[str, str]] = []  # (signal, namespace/name)
        self.pods: PodKiller | None = None
        # the bytes in each limited emptyDir of a pod (the agent wires the volumes' measure)
        self.volume_usage: Callable[[dict[str, Any]], Mapping[str, int]] | None = None
        # pod uid -> container name -> writable layer plus logs (the agent wires the stats')
        self.container_storage: Callable[[], Mapping[str, Mapping[str, int]]] | None = None

    def pressure(self) -> set[str]:
        with self._lock:
            return active_conditions(self._last_observed, time.monotonic(),
                                     self.config.eviction_pressure_transition_period)

    def synchronize(self) -> list[Threshold]:
        """One pass: measure, update pressure, evict at most one pod. Returns the met ones."""
        observed = measure(self.state_dir, self.cri, self.config.cgroup_root)
        met = thresholds_met(self.thresholds, observed)
        with self._lock:
            self.observed = observed
            self._last_observed = remember_conditions(self._last_observed, conditions_of(met),
                                                      time.monotonic())
        if self._evict_for_local_storage():
            return met
        if met:
            self._evict_one(met[0], observed[met[0].signal])
        return met

    def _evict_for_local_storage(self) -> bool:
        """Upstream's localStorageEviction: every pod above an emptyDir sizeLimit or an
        ephemeral-storage limit is evicted at once; then this pass evicts nothing else."""
        if self.volume_usage is None:
            return False
        pods = [pod for pod in self._candidates() if watched(pod)]
        containers = self._container_storage() if pods else {}
        evicted = False
        for pod in pods:
            usage = PodStorage(self.volume_usage(pod),
                               containers.get(pod["metadata"].get("uid", ""), {}))
            found = local_storage_eviction(pod, usage)
            if found is not None:
                self.evict(pod, found.message, found.signal)
                evicted = True
        return evicted

    def _container_storage(self) -> Mapping[str, Mapping[str, int]]:
        if self.container_storage is None:
            return {}
        try:
            return self.container_storage()
        except CRIError as exc:
            log.warning("no container stats for local storage eviction: %s", exc)
            return {}

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.config.eviction_monitoring_period):
            try:
                self.synchronize()
            except Exception:
                log.exception("eviction pass failed")

    def _usage(self, resource: str) -> dict[str, dict[str, int]]:
        """pod uid -> container name -> usage of `resource`, from CRI stats."""
        result: dict[str, dict[str, int]] = {}
        try:
            stats = self.cri.list_container_stats()
        except CRIError as exc:
            log.warning("no container stats for eviction ranking: %s", exc)
            return result
        for stat in stats:
            labels = stat.attributes.labels
            uid, name = labels.get(POD_UID_LABEL), labels.get(CONTAINER_NAME_LABEL)
            if not uid or not name:
                continue
            if resource == "memory":
                value = stat.memory.working_set_bytes.value
            else:
                value = stat.writable_layer.used_bytes.value
            result.setdefault(uid, {})[name] = int(value)
        return result

    def _candidates(self) -> list[dict[str, Any]]:
        """The node's active pods that are not critical (`critical.py`): those the pod manager
        admitted once it has listed (upstream's activePodsFunc); before it runs (the first
        pass), those whose sandboxes the runtime holds (found running: admitted as they are).
        A pod not admitted yet is no candidate: admission may refuse it first."""
        items = self.pods.active_pods() if self.pods is not None else None
        if items is None:
            items = [p for p in self.api.list("pods", field_selector=(
                f"spec.nodeName={self.node_name}")).get("items") or []
                if p["metadata"].get("uid") in self._uids_with_sandboxes()]
        return [
            p for p in items
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and not p["metadata"].get("deletionTimestamp")
            and not is_critical(p)  # evictPod: "cannot evict a critical pod"
        ]

    def _uids_with_sandboxes(self) -> set[str]:
        try:
            return {s.labels.get(POD_UID_LABEL, "") for s in self.cri.list_pod_sandboxes()}
        except CRIError as exc:
            log.warning("no sandboxes for the first eviction pass: %s", exc)
            return set()

    def _evict_one(self, threshold: Threshold, obs: Observation) -> None:
        resource = SIGNAL_RESOURCE[threshold.signal]
        usage = self._usage(resource)
        pods = [
            PodUsage(p, sum(usage.get(p["metadata"].get("uid", ""), {}).values()),
                     usage.get(p["metadata"].get("uid", ""), {}))
            for p in self._candidates()
        ]
        if not pods:
            return
        victim = rank_pods(pods, resource)[0]
        message = eviction_message(resource, threshold.value(obs.capacity), obs.available,
                                   victim)
        self.evict(victim.pod, message, threshold.signal)

    def evict(self, pod: dict[str, Any], message: str, signal: str) -> None:
        """Evict `pod`: through its worker when the pod manager runs (mark it evicted, post
        Failed, then wake it to stop the pod: nothing can restart in between), else (the
        first pass, before the manager starts) by stopping its sandboxes here first."""
        meta = pod["metadata"]
        uid = meta.get("uid", "")
        log.warning("evicting pod %s/%s: %s", meta["namespace"], meta["name"], message)
        through_worker = bool(uid) and self.pods is not None and self.pods.mark_evicted(uid)
        if not through_worker:
            self._stop_sandboxes(uid, meta["name"])
        now = now_time()
        self.api.patch("pods", meta["namespace"], meta["name"],
                       {"status": evicted_status(message, now)}, subresource="status",
                       content_type=STRATEGIC_PATCH)
        if through_worker and self.pods is not None:
            self.pods.wake(uid)
        self.recorder.record(pod_event(pod, self.node_name, "Evicted", message, now))
        self.evicted.append((signal, f"{meta['namespace']}/{meta['name']}"))

    def _stop_sandboxes(self, uid: str, name: str) -> None:
        if not uid:
            return
        try:
            for sandbox in self.cri.list_pod_sandboxes({POD_UID_LABEL: uid}):
                self.cri.stop_pod_sandbox(sandbox.id)
        except CRIError as exc:
            log.warning("cannot stop the sandboxes of evicted pod %s: %s", name, exc)
