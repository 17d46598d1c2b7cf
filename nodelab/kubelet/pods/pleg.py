"""The pod lifecycle event generator (upstream's PLEG), and when a worker may rely on it.

Polling every pod's sandboxes and containers every second costs CRI calls per pod per
second: with 30 idle pods that was a fifth of a core in the runtime alone. Upstream's kubelet
instead relists the whole node once a second (one ListPodSandbox, one ListContainers), wakes
the workers whose pods changed there, and otherwise resyncs a pod only every `syncFrequency`
(one minute). nodelab does the same (`PodSettings.idle_resync`); a change of a ConfigMap or
Secret a pod uses wakes its worker too (`object_watch.py`), so volumes follow at once:

- `relist_states(runtime)`: per pod UID, the (id, state) of each sandbox and container;
- `changed_pods(before, after)`: the UIDs whose states differ, to wake their workers;
- `settled(pod, view)`: True when nothing can change without such an event or an API update:
  a finished pod (Succeeded or Failed), or a ready sandbox whose containers are each running
  and ready or exited for good (restartPolicy Never, or OnFailure after exit code 0), with no
  probes and no activeDeadlineSeconds; only then does a worker wait the idle resync instead of
  the one-second one.
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


def will_not_restart(policy: str, exit_code: int) -> bool:
    """An exited app container that the pod's restartPolicy leaves exited."""
    return policy == "Never" or (policy == "OnFailure" and exit_code == 0)


def settled(pod: Mapping[str, Any], view: PodView) -> bool:
    spec = pod.get("spec") or {}
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return True  # a finished pod keeps its status; nothing restarts
    if spec.get("activeDeadlineSeconds") is not None or not view.sandbox_ready:
        return False
    apps = list(spec.get("containers") or [])
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    if any(probe in c for c in apps + sidecars for probe in PROBES):
        return False
    policy = str(spec.get("restartPolicy") or "Always")
    for containers, views, restarts in ((apps, view.containers, policy),
                                        (sidecars, view.init, "Always")):
        for container in containers:
            seen = views.get(container["name"])
            if seen is None or seen.latest is None:
                return False
            if seen.latest.state == "exited" \
                    and will_not_restart(restarts, seen.latest.exit_code):
                continue
            if seen.latest.state != "running" or not seen.ready:
                return False
    return True
