"""The worker's probe step: run the probes due of a running app container or sidecar
(restartable init container), as upstream's prober.

Each new instance of a container gets fresh `ProbeTracker`s (`probes.py`), which keep the
consecutive results and say when a probe is due; until a startup probe succeeds, only it runs.
A readiness result sets the container's Ready; a failed liveness or startup probe (failure
threshold reached) kills the container, which then restarts per the pod's restartPolicy.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from nodelab.kubelet.pods.backoff import ContainerMemory
from nodelab.kubelet.pods.hooks import Recorder, grace_period
from nodelab.kubelet.pods.probes.probes import ProbeTracker, run_probe
from nodelab.kubelet.pods.runtime_calls import PodRuntime
from nodelab.kubelet.pods.status import Instance

KINDS = ("startup", "liveness", "readiness")


def kill_grace(pod: Mapping[str, Any], probe: Mapping[str, Any]) -> int:
    """The grace period of a kill after a failed liveness or startup probe: the probe's own
    `terminationGracePeriodSeconds` when set, else the pod's (upstream)."""
    own = probe.get("terminationGracePeriodSeconds")
    return int(own) if own is not None else grace_period(pod)


def probe_container(runtime: PodRuntime, record: Recorder, pod: Mapping[str, Any], name: str,
                    instances: Sequence[Instance], memory: ContainerMemory,
                    pod_ip: str) -> bool:
    """Run the probes due now of a running app container or sidecar; True if a failure
    killed it."""
    spec = pod.get("spec") or {}
    container = next(c for c in [*(spec.get("containers") or []),
                                 *(spec.get("initContainers") or [])] if c["name"] == name)
    instance = next(i for i in instances if i.name == name)
    if memory.probed_instance != instance.id:
        started = time.monotonic()
        memory.probes = {kind: ProbeTracker(kind, container[f"{kind}Probe"], started)
                         for kind in KINDS if container.get(f"{kind}Probe")}
        memory.probed_instance = instance.id
        memory.started = "startup" not in memory.probes
        memory.ready = "readiness" not in memory.probes
    now = time.monotonic()
    for kind in ["startup"] if not memory.started else ["liveness", "readiness"]:
        tracker = memory.probes.get(kind)
        if tracker is None or not tracker.due(now):
            continue
        outcome = run_probe(tracker.probe, container, instance.id, pod_ip, runtime.exec_sync)
        result = tracker.record(outcome, now)
        if not outcome.ok:
            record(pod, "Unhealthy", f"{kind.capitalize()} probe failed: {outcome.message}",
                   "Warning")
        if kind == "startup" and result is True:
            memory.started = True
        elif kind == "readiness" and result is not None:
            memory.ready = result
        elif kind in ("startup", "liveness") and result is False:
            record(pod, "Killing", f"Container {name} failed {kind} probe, will be restarted",
                   "Normal")
            runtime.stop_container(instance.id, kill_grace(pod, tracker.probe))
            memory.probes = {}
            memory.probed_instance = ""
            return True
    return False
