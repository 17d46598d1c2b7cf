"""The actions of a terminating and a terminated pod (`lifecycle.py` decides when).

- `post_deadline_failure`: a pod past `activeDeadlineSeconds` gets `phase: Failed`,
  `reason: DeadlineExceeded` and a Warning event, as upstream's kubelet posts;
- `kill_pod`: each running container gets a `Killing` event, its preStop hook when there is a
  grace period, then `StopContainer` with what is left of it (the stop signal, SIGKILL after
  it); each ready sandbox is stopped. Containers and sandboxes stay for `kubectl logs`;
- `remove_pod`: once the pod is deleted, its containers and sandboxes are removed, its
  volumes torn down and the Pod object deleted (grace 0, with its UID as precondition).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nodelab.kube.verbs import ResourceVerbs
from nodelab.kubelet.pods.hooks import Recorder, run_pre_stop
from nodelab.kubelet.pods.lifecycle import DEADLINE_MESSAGE
from nodelab.kubelet.pods.resources.qos import qos_class
from nodelab.kubelet.pods.runtime_calls import PodRuntime
from nodelab.kubelet.pods.status import Instance
from nodelab.kubelet.pods.volumes.pod_volumes import teardown_volumes

SANDBOX_READY = 0
DEFAULT_GRACE = 30  # the API's default terminationGracePeriodSeconds
MINIMUM_GRACE = 1  # "we always supply a grace period of 1" (podWorkers' effective grace)


def post_deadline_failure(rest: ResourceVerbs, record: Recorder,
                          pod: Mapping[str, Any]) -> None:
    record(pod, "DeadlineExceeded", DEADLINE_MESSAGE, "Warning")
    rest.patch("pods", pod["metadata"]["namespace"], pod["metadata"]["name"],
               {"status": {"phase": "Failed", "reason": "DeadlineExceeded",
                           "message": DEADLINE_MESSAGE}}, subresource="status")


def post_rejected(rest: ResourceVerbs, pod: Mapping[str, Any], reason: str,
                  message: str) -> None:
    """Admission refused the pod (upstream's rejectPod, after its event): Failed, nothing
    started."""
    rest.patch("pods", pod["metadata"]["namespace"], pod["metadata"]["name"],
               {"status": {"phase": "Failed", "reason": reason,
                           "message": f"Pod was rejected: {message}",
                           "qosClass": qos_class(pod)}}, subresource="status")


def restored_grace(instance: Instance) -> int:
    """The grace of a container whose pod is gone from the API: the pod's
    terminationGracePeriod the kubelet wrote on it (upstream keeps the last Pod object, or
    restores the spec from the container: restoreSpecsFromContainerLabels), at least 1 s (the
    pod workers' calculateEffectiveGracePeriod); 30 s, the API's default, if it has none."""
    if instance.grace is None:
        return DEFAULT_GRACE
    return max(MINIMUM_GRACE, instance.grace)


def kill_pod(runtime: PodRuntime, record: Recorder, uid: str, pod: Mapping[str, Any] | None,
             grace: int | None) -> None:
    """Stop every running container of pod `uid` within `grace` seconds (None: the pod is gone
    and its grace unknown, each container's own), then its sandboxes."""
    started = time.monotonic()
    for instance in runtime.containers(uid):
        if instance.state != "running":
            continue
        deadline = started + (grace if grace is not None else restored_grace(instance))
        if pod is not None:
            record(pod, "Killing", f"Stopping container {instance.name}", "Normal")
            if grace:
                run_pre_stop(runtime, record, pod, instance, deadline)
        # what is left of the grace in whole seconds, as upstream's grace minus the preStop
        # hook's whole seconds (int() would cut a 2 s grace to 1 s at once)
        runtime.stop_container(instance.id, max(0, math.ceil(deadline - time.monotonic())))
    for sandbox in runtime.sandboxes(uid):  # NOTREADY too (idempotent, as upstream's
        runtime.stop_sandbox(sandbox.id)  # killPodWithSyncResult): it may still hold an address


def remove_pod(runtime: PodRuntime, rest: ResourceVerbs, uid: str, state_dir: Path,
               pod: Mapping[str, Any] | None) -> None:
    """Remove what is left of pod `uid` and delete its Pod object (None: gone already)."""
    for instance in runtime.containers(uid):
        runtime.remove_container(instance.id)
    for sandbox in runtime.sandboxes(uid):
        runtime.stop_sandbox(sandbox.id)
        runtime.remove_sandbox(sandbox.id)
    teardown_volumes(uid, state_dir)
    if pod is not None:
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                "preconditions": {"uid": uid}}
        rest.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"], body)
