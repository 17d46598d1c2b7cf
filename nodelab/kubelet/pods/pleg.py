"""The pod lifecycle event generator (upstream's PLEG), and when a worker may rely on it.

Polling every pod's sandboxes and containers every second costs CRI calls per pod per
second: with 30 idle pods that was a fifth of a core in the runtime alone. Upstream's kubelet
instead relists the whole node once a second (one ListPodSandbox, one ListContainers), wakes
the workers whose pods changed there, and otherwise resyncs a pod only every `syncFrequency`
(one minute). nodelab does the same, with a shorter idle resync (`PodSettings.idle_resync`,
10 s) so ConfigMap and Secret updates still reach volumes soon:

- `relist_states(runtime)`: per pod UID, the (id, state) of each sandbox and container;
- `changed_pods(before, after)`: the UIDs whose states differ, to wake their workers;
- `settled(pod, view)`: True when nothing can change without such an event or an API update
  (sandbox ready, every container running and ready, no probes, no activeDeadlineSeconds);
  only then does a worker wait the idle resync instead of the one-second one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodelab.kubelet.pods.cri_plan import POD_UID
from nodelab.kubelet.pods.runtime_calls import PodRuntime
from nodelab.kubelet.pods.status import PodView

States = dict[str, frozenset[tuple[str, int]]]
PROBES = ("startupProbe", "livenessProbe", "readinessProbe")


def relist_states(runtime: PodRuntime) -> States:
    found: dict[str, set[tuple[str, int]]] = {}
    for sandbox in runtime.all_sandboxes():
        uid = sandbox.labels.get(POD_UID)
        if uid:
            found.setdefault(uid, set()).add((sandbox.id, int(sandbox.state)))
    for container in runtime.client.list_containers():
        uid = container.labels.get(POD_UID)
        if uid:
            found.setdefault(uid, set()).add((container.id, int(container.state)))
    return {uid: frozenset(items) for uid, items in found.items()}


def changed_pods(before: States, after: States) -> set[str]:
    return {uid for uid in set(before) | set(after) if before.get(uid) != after.get(uid)}


def settled(pod: Mapping[str, Any], view: PodView) -> bool:
    spec = pod.get("spec") or {}
    if spec.get("activeDeadlineSeconds") is not None or not view.sandbox_ready:
        return False
    apps = list(spec.get("containers") or [])
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    if any(probe in c for c in apps + sidecars for probe in PROBES):
        return False
    for containers, views in ((apps, view.containers), (sidecars, view.init)):
        for container in containers:
            seen = views.get(container["name"])
            if seen is None or seen.latest is None or seen.latest.state != "running" \
                    or not seen.ready:
                return False
    return True
