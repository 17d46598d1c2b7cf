"""One worker per pod (upstream's pod_workers.go): a thread that syncs its pod, moves the
pod's life and decides when to sync again; what a sync of a running pod does is `pod_sync.py`.

A sync first moves the pod's life (`lifecycle.py`: syncing, terminating, terminated) by what
the Pod object says; the evictor moves it too (`evict()`, from its thread). Then, by stage:

- **syncing**: `PodSync.sync_pod` (upstream's SyncPod): admission, the actions, the sandbox,
  the containers, the probes, the status;
- **terminating** (upstream's SyncTerminatingPod): post the Failed status of a pod past its
  deadline; stop each running container (preStop hook first when there is a grace period,
  SIGKILL after it) and the sandboxes;
- **terminated** (upstream's SyncTerminatedPod): nothing runs; once the pod is deleted, remove
  its containers and sandboxes, tear down its volumes, delete the Pod object, and finish
  (`termination.py`).

A worker syncs at once when its pod changes, when the PLEG (`pleg.py`) sees its sandbox or
containers change in the runtime, or when the evictor wakes it; otherwise after the wait
`requeue.requeue_after` decides from the last sync (upstream's completeWork): 10-15 s after a
failed sync or while the network is not ready, else `resync` seconds, or `idle_resync` once
the pod is settled (running and ready, no probes, no deadline; or terminated).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from nodelab.errors import NodelabError
from nodelab.kube.events import event_for
from nodelab.kube.objects import Object
from nodelab.kube.recorder import EventRecorder
from nodelab.kube.verbs import ResourceVerbs
from nodelab.kubelet.pods.hooks import grace_period
from nodelab.kubelet.pods.lifecycle import (
    Event,
    PodLife,
    Stage,
    deletion_grace,
    events_of,
    next_life,
)
from nodelab.kubelet.pods.pod_sync import Admission, PodSync
from nodelab.kubelet.pods.requeue import SyncOutcome, requeue_after
from nodelab.kubelet.pods.runtime_calls import PodRuntime
from nodelab.kubelet.pods.settings import PodSettings
from nodelab.kubelet.pods.termination import kill_pod, post_deadline_failure, remove_pod
from nodelab.kubelet.pods.volumes.pod_volumes import VolumeSources

log = logging.getLogger("nodelab.kubelet.pods")


class PodWorker:
    def __init__(self, uid: str, lookup: Callable[[str], Object | None], runtime: PodRuntime,
                 rest: ResourceVerbs, settings: PodSettings, sources: VolumeSources,
                 services: Callable[[], list[Object] | None] = lambda: [],
                 admission: Admission = lambda _pod, _started: None,
                 recorder: EventRecorder | None = None) -> None:
        self.uid = uid
        self.recorder = recorder or EventRecorder(rest)  # the kubelet's one, from the manager
        self.lookup = lookup
        self.runtime = runtime
        self.rest = rest
        self.settings = settings
        self.life = PodLife()
        self.pod_sync = PodSync(uid, runtime, rest, settings, sources, self.event,
                                lambda: self.life.syncing, services, admission)
        self.settled = False  # the last sync left nothing to poll for (pleg.settled)
        self.done = threading.Event()  # set once the life is finished (the manager reads it)
        self._life_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pod-{uid[:8]}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def evict(self) -> None:
        """Terminate the pod: from now on nothing starts and the next sync stops what runs
        (the evictor posts Failed, then wakes this worker: upstream kills evicted pods through
        the pod worker too)."""
        self._advance(Event.EVICTED)

    def _advance(self, event: Event, grace: int | None = None) -> PodLife:
        with self._life_lock:
            self.life = next_life(self.life, event, grace)
            return self.life

    def _run(self) -> None:
        while not self._stop.is_set() and not self.done.is_set():
            outcome = SyncOutcome.FAILED
            try:
                outcome = self.sync(self.lookup(self.uid))
            except Exception as exc:  # retried after the back-off; say why in the log
                log.warning("sync of pod %s failed, will retry: %s", self.uid, exc,
                            exc_info=not isinstance(exc, NodelabError))
            self._wake.wait(requeue_after(outcome, self.settled, self.settings.resync,
                                          self.settings.idle_resync, random.random()))
            self._wake.clear()

    def event(self, pod: Mapping[str, Any], reason: str, message: str,
              kind: str = "Normal") -> None:
        self.recorder.record(event_for(dict(pod), "Pod", reason, message, component="kubelet",
                                       event_type=kind, host=self.settings.node_name))

    # --- the sync --------------------------------------------------------------------------

    def sync(self, pod: Object | None) -> SyncOutcome:
        """One sync of the pod as the API has it now (None: gone from the API)."""
        self.settled = False
        for event in events_of(pod, time.time()):
            self._advance(event, deletion_grace(pod) if event is Event.DELETED else None)
        if self.life.syncing and pod is not None:
            result = self.pod_sync.sync_pod(pod)
            self.settled = result.settled
            return result.outcome
        if self.life.stage is Stage.TERMINATING:
            self.sync_terminating(pod)
        if self.life.stage is Stage.TERMINATED:
            self.sync_terminated(pod)
        return SyncOutcome.SYNCED

    # --- termination -----------------------------------------------------------------------

    def sync_terminating(self, pod: Object | None) -> None:
        if pod is not None and self.life.reason == Event.DEADLINE_EXCEEDED.value:
            post_deadline_failure(self.rest, self.event, pod)
        grace = self.life.grace
        if grace is None and pod is not None:
            grace = grace_period(pod)
        kill_pod(self.runtime, self.event, self.uid, pod, grace)
        self._advance(Event.KILLED)

    def sync_terminated(self, pod: Object | None) -> None:
        """Keep a terminated pod's leftovers until it is deleted; then remove them."""
        if not self.life.deleted:
            self.settled = True
            return
        remove_pod(self.runtime, self.rest, self.uid, self.settings.state_dir, pod)
        if self._advance(Event.REMOVED).finished:
            self.done.set()
