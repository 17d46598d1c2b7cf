"""When a pod worker syncs again on its own (upstream's podWorkers.completeWork): pure.

A worker also syncs at once when something about its pod changes (the pod's watch, the PLEG
seeing its sandbox or containers change, the evictor), as upstream's pending update does;
this decides only how long it waits when nothing happens:

- the last sync **failed** (it raised: CRI, the API, a sandbox that could not be made; or a
  container could not be started for another reason than a back-off): after upstream's
  `backOffPeriod`, 10 s plus up to 50 % jitter;
- it **waited for the network** (NetworkNotReady): after upstream's
  `backOffOnTransientErrorPeriod`, 1 s plus up to 50 % jitter (the network may be ready soon);
- it **worked**: after `resync` (1 s: probes and deadlines are checked in the sync), or
  once the pod is settled after `idle_resync` (upstream's `resyncInterval`, the kubelet's
  syncFrequency: 1 min) plus up to 50 % jitter (`workerResyncIntervalJitterFactor`), which
  also spreads the resyncs of pods started together.

A container that could not be started counts as a failure as in upstream's SyncPod, which
returns the start's error unless every failure was a back-off (`CrashLoopBackOff`,
`ImagePullBackOff`): `CreateContainerConfigError`, `CreateContainerError`,
`RunContainerError`, `PostStartHookError`, `ErrImagePull`, `ErrImageNeverPull`, ...
so an error that repeats is retried (with its Warning event) every 10-15 s, not every second.

Each NetworkNotReady try records its Warning event again, as upstream's; the kubelet's event
recorder (`nodelab/kube/recorder.py`, client-go's correlator) makes the repeats one Event
whose count grows, so a pod waiting a minute for its network is one Event, not sixty.
"""

from __future__ import annotations

from enum import Enum

BACK_OFF_PERIOD = 10.0  # upstream's backOffPeriod (kubelet.go), the pod workers' back-off
TRANSIENT_BACK_OFF = 1.0  # upstream's backOffOnTransientErrorPeriod (pod_workers.go)
JITTER_FACTOR = 0.5  # upstream's workerBackOffPeriodJitterFactor
RESYNC_JITTER_FACTOR = 0.5  # upstream's workerResyncIntervalJitterFactor
BACK_OFFS = ("CrashLoopBackOff", "ImagePullBackOff")  # waiting, not failing


class SyncOutcome(Enum):
    SYNCED = "synced"
    FAILED = "failed"
    NETWORK_NOT_READY = "network-not-ready"


def jitter(period: float, factor: float, draw: float) -> float:
    """apimachinery's wait.Jitter: `period` plus up to `factor` of it (`draw` in [0, 1))."""
    return period + draw * factor * period


def start_failed(waiting_reason: str) -> bool:
    """Whether a container's start that left it waiting for `waiting_reason` failed the sync
    (a back-off does not; nor does a start that was not tried: no reason)."""
    return bool(waiting_reason) and waiting_reason not in BACK_OFFS


def requeue_after(outcome: SyncOutcome, settled: bool, resync: float, idle_resync: float,
                  draw: float) -> float:
    """Seconds until the worker syncs again unless woken; `draw` is a random number in
    [0, 1) for the jitter."""
    if outcome is SyncOutcome.NETWORK_NOT_READY:
        return jitter(TRANSIENT_BACK_OFF, JITTER_FACTOR, draw)
    if outcome is SyncOutcome.FAILED:
        return jitter(BACK_OFF_PERIOD, JITTER_FACTOR, draw)
    return jitter(idle_resync, RESYNC_JITTER_FACTOR, draw) if settled else resync
