"""The kubelet waits for the pod network (upstream's runtimeState.networkErrors in syncPod).

While the runtime reports NetworkReady=false (no CNI config yet, the CNI config removed), a
pod that needs the pod network (not `hostNetwork`) is not synced: its status is still posted,
a Warning `NetworkNotReady` event says `network is not ready: container runtime network not
ready: NetworkReady=false reason:NetworkPluginNotReady message:...`, and its worker tries
again after the pod worker's back-off (10-15 s, `requeue.py`, which says why not upstream's
1 s) or when something about the pod changes, instead of failing RunPodSandbox every second.
Nothing running is stopped; nothing new starts (no sandbox, no container restart) until the
network is ready.

The runtime's network state is read with CRI `Status` at most once a second, shared by every
pod worker (upstream refreshes it every 5 s); when the runtime cannot be asked, the last
answer stands, as upstream's updateRuntimeUp keeps its state on an error.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence

from nodelab.kube.objects import ObjectView
from nodelab.kubelet.cri import CRIError, RuntimeCondition
from nodelab.kubelet.node.conditions import runtime_errors

NETWORK_NOT_READY = "NetworkNotReady"  # the event's reason (upstream's events.NetworkNotReady)
NETWORK_NOT_READY_MESSAGE = "network is not ready"  # upstream's NetworkNotReadyErrorMsg


def network_error(conditions: Sequence[RuntimeCondition]) -> str | None:
    """The network's error in a CRI status, worded as upstream's, or None when it is ready."""
    errors = [e for e in runtime_errors(conditions) if e.startswith("container runtime network")]
    return errors[0] if errors else None


def network_wait(pod: ObjectView, error: str | None) -> str | None:
    """Why the pod must wait for the network (the event's message), or None."""
    if error is None or (pod.get("spec") or {}).get("hostNetwork"):
        return None
    return f"{NETWORK_NOT_READY_MESSAGE}: {error}"


class NetworkState:
    """The runtime's network error, asked at most every `max_age` seconds."""

    def __init__(self, status: Callable[[], Sequence[RuntimeCondition]],
                 clock: Callable[[], float] = time.monotonic, max_age: float = 1.0) -> None:
        self._status = status
        self._clock = clock
        self._max_age = max_age
        self._lock = threading.Lock()
        self._asked = float("-inf")
        self._error: str | None = None

    def error(self) -> str | None:
        with self._lock:
            if self._clock() - self._asked >= self._max_age:
                self._asked = self._clock()
                with contextlib.suppress(CRIError):  # the last answer stands
                    self._error = network_error(self._status())
            return self._error
