"""A pod's status computed from what the runtime reports: pure, as upstream's
generateAPIPodStatus.

Inputs are the pod, the sandbox (ready or not, its IP), each container's latest and previous
instance (from CRI ContainerStatus, as `Instance`), the reasons the kubelet is waiting on a
container (ContainerCreating, ErrImagePull, CrashLoopBackOff, ...), and probe results.
Outputs: phase, the five conditions, containerStatuses, initContainerStatuses and
ephemeralContainerStatuses (state,
lastState, ready, started, restartCount, image, imageID, containerID), podIP(s), hostIP(s),
startTime and qosClass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nodelab.kube.objects import ObjectView
from nodelab.kubelet.pods.backoff import ContainerMemory
from nodelab.kubelet.pods.resources.qos import qos_class


@dataclass(frozen=True)
class Instance:
    """One container instance as the runtime reports it."""

    id: str
    name: str
    attempt: int
    state: str  # created | running | exited | unknown
    image: str = ""
    image_id: str = ""
    started_at: str = ""
    finished_at: str = ""
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    sandbox_id: str = ""  # the sandbox it runs in ("": not known)
    finished: float = 0.0  # finished_at in seconds since the epoch, to the nanosecond (0: not)
    grace: int | None = None  # the pod's terminationGracePeriod written on it (None: not)
    user: dict[str, Any] | None = None  # uid, gid, supplementalGroups, if the runtime says


@dataclass
class ContainerView:
    latest: Instance | None = None
    previous: Instance | None = None
    waiting_reason: str = ""
    waiting_message: str = ""
    ready: bool = False
    started: bool | None = None


@dataclass
class PodView:
    sandbox_ready: bool = False
    pod_ip: str = ""
    host_ip: str = ""
    start_time: str = ""
    runtime: str = "nodelab"
    init: dict[str, ContainerView] = field(default_factory=dict)
    containers: dict[str, ContainerView] = field(default_factory=dict)
    ephemeral: dict[str, ContainerView] = field(default_factory=dict)


def fill_view(pod: ObjectView, view: PodView, instances: list[Instance],
              memory: Mapping[str, ContainerMemory]) -> None:
    """Each container's latest and previous instance, waiting reason, ready and started,
    into `view` (a running instance not probed yet: started and ready unless it has the
    startup or readiness probe)."""
    spec = pod.get("spec") or {}
    for target, specs in ((view.init, spec.get("initContainers") or []),
                          (view.containers, spec.get("containers") or []),
                          (view.ephemeral, spec.get("ephemeralContainers") or [])):
        for container in specs:
            name = container["name"]
            mine = [i for i in instances if i.name == name]
            remembered = memory.get(name) or ContainerMemory()
            latest = mine[0] if mine else None
            running = latest is not None and latest.state == "running"
            started, ready = remembered.started, remembered.ready
            if latest is not None and running and remembered.probed_instance != latest.id:
                started = "startupProbe" not in container
                ready = "readinessProbe" not in container
            reason, message = ("", "") if running else remembered.waiting
            target[name] = ContainerView(
                latest=latest, previous=mine[1] if len(mine) > 1 else None,
                waiting_reason=reason, waiting_message=message,
                ready=running and ready and started, started=started if running else False)


def terminated_reason(instance: Instance) -> str:
    if instance.reason:
        return instance.reason
    return "Completed" if instance.exit_code == 0 else "Error"


def _terminated(instance: Instance, runtime: str) -> dict[str, Any]:
    state: dict[str, Any] = {
        "exitCode": instance.exit_code,
        "reason": terminated_reason(instance),
        "startedAt": instance.started_at or None,
        "finishedAt": instance.finished_at or None,
        "containerID": f"{runtime}://{instance.id}",
    }
    if instance.message:
        state["message"] = instance.message
    return state


def container_status(spec: ObjectView, view: ContainerView, runtime: str,
                     default_waiting: str = "ContainerCreating") -> dict[str, Any]:
    """One container's status (`default_waiting`: the reason while it has no instance yet;
    upstream's is PodInitializing for the app containers of a pod with init containers)."""
    latest = view.latest
    status: dict[str, Any] = {
        "name": spec["name"],
        "image": spec.get("image", ""),
        "imageID": latest.image_id if latest else "",
        "ready": view.ready,
        "restartCount": latest.attempt if latest else 0,
        "started": bool(view.started) if latest and latest.state == "running" else False,
        "state": {},
        "lastState": {},
    }
    if latest:
        status["containerID"] = f"{runtime}://{latest.id}"
        if latest.user is not None:  # upstream: only what the runtime reports
            status["user"] = {"linux": latest.user}
    if view.waiting_reason:
        waiting = {"reason": view.waiting_reason}
        if view.waiting_message:
            waiting["message"] = view.waiting_message
        status["state"] = {"waiting": waiting}
    elif latest is None:
        status["state"] = {"waiting": {"reason": default_waiting}}
    elif latest.state == "created":
        status["state"] = {"waiting": {"reason": "ContainerCreating"}}
    elif latest.state == "running":
        status["state"] = {"running": {"startedAt": latest.started_at or None}}
    else:
        status["state"] = {"terminated": _terminated(latest, runtime)}
    previous = view.previous
    if view.waiting_reason and latest and latest.state == "exited":
        previous = latest
    if previous and previous.state == "exited":
        status["lastState"] = {"terminated": _terminated(previous, runtime)}
    return status


def _condition(kind: str, ok: bool, now: str, previous: ObjectView, reason: str = "",
               message: str = "") -> dict[str, Any]:
    status = "True" if ok else "False"
    old: ObjectView = next(
        (c for c in (previous.get("conditions") or []) if c.get("type") == kind), {})
    condition = {
        "type": kind, "status": status, "lastProbeTime": None,
        "lastTransitionTime": old.get("lastTransitionTime") if old.get("status") == status
        else now,
    }
    if reason and not ok:
        condition["reason"] = reason
    if message and not ok:
        condition["message"] = message
    return condition


# upstream's PodConditionsByKubelet: the kubelet writes these; it keeps everyone else's
KUBELET_CONDITIONS = ("PodScheduled", "Ready", "Initialized", "ContainersReady",
                      "PodReadyToStartContainers")


def readiness_gate_messages(spec: ObjectView, conditions: list[ObjectView]) -> list[str]:
    """Why the pod's readiness gates hold it unready (upstream's GeneratePodReadyCondition):
    each gate's condition, set by someone else through the status, must exist and be True."""
    found = {c.get("type"): c for c in conditions}
    messages = []
    for gate in spec.get("readinessGates") or []:
        kind = gate.get("conditionType", "")
        condition = found.get(kind)
        if condition is None:
            messages.append(f'corresponding condition of pod readiness gate "{kind}" does not '
                            "exist.")
        elif condition.get("status") != "True":
            messages.append(f'the status of pod readiness gate "{kind}" is not "True", but '
                            f"{condition.get('status')}")
    return messages


def _ready_condition(spec: ObjectView, containers_ready: bool, now: str, previous: ObjectView,
                     reason: str, message: str) -> dict[str, Any]:
    """Ready: ContainersReady's status, reason and message while it is not True; then False
    with `ReadinessGatesNotReady` while a readiness gate is not satisfied."""
    if not containers_ready:
        return _condition("Ready", False, now, previous, reason, message)
    gates = readiness_gate_messages(spec, list(previous.get("conditions") or []))
    return _condition("Ready", not gates, now, previous, "ReadinessGatesNotReady",
                      ", ".join(gates))


def pod_phase(pod: ObjectView, view: PodView) -> str:
    spec = pod.get("spec") or {}
    policy = spec.get("restartPolicy") or "Always"
    names = [c["name"] for c in spec.get("containers") or []]
    instances = [view.containers.get(n, ContainerView()).latest for n in names]
    if policy == "Never" and any(
            (seen := view.init.get(c["name"], ContainerView()).latest) is not None
            and seen.state == "exited" and seen.exit_code != 0
            for c in spec.get("initContainers") or [] if c.get("restartPolicy") != "Always"):
        return "Failed"  # an init container failed and will not run again (upstream getPhase)
    if not view.sandbox_ready or any(i is None for i in instances):
        if instances and all(i is not None and i.state == "exited" for i in instances):
            pass  # a sandbox that died after every container finished
        else:
            return "Pending"
    running = sum(1 for i in instances if i is not None and i.state in ("running", "created"))
    exited = [i for i in instances if i is not None and i.state == "exited"]
    if running:
        return "Running"
    if len(exited) == len(names) and names:
        if policy == "Always":
            return "Running"  # restarting
        failed = [i for i in exited if i.exit_code != 0]
        if not failed:
            return "Succeeded"
        return "Running" if policy == "OnFailure" else "Failed"
    return "Pending"


def pod_status(pod: ObjectView, view: PodView, now: str) -> dict[str, Any]:
    spec = pod.get("spec") or {}
    previous = pod.get("status") or {}
    init_specs = list(spec.get("initContainers") or [])
    app_specs = list(spec.get("containers") or [])
    init_statuses = [container_status(c, view.init.get(c["name"], ContainerView()),
                                      view.runtime) for c in init_specs]
    waiting = "PodInitializing" if init_specs else "ContainerCreating"
    statuses = [container_status(c, view.containers.get(c["name"], ContainerView()),
                                 view.runtime, waiting) for c in app_specs]
    initialized = all(
        (s["state"].get("terminated") or {}).get("exitCode") == 0
        or (c.get("restartPolicy") == "Always" and s["started"])
        for c, s in zip(init_specs, init_statuses, strict=True)
    )
    phase = pod_phase(pod, view)
    sidecars = [s for c, s in zip(init_specs, init_statuses, strict=True)
                if c.get("restartPolicy") == "Always"]
    not_ready = [s["name"] for s in sidecars + statuses if not s["ready"]]
    containers_ready = not not_ready and phase == "Running"
    message = f"containers with unready status: [{' '.join(not_ready)}]" if not_ready else ""
    reason = "PodCompleted" if phase in ("Succeeded", "Failed") else "ContainersNotReady"
    incomplete = [s["name"] for s in init_statuses
                  if (s["state"].get("terminated") or {}).get("exitCode") != 0]
    scheduled = next((c for c in previous.get("conditions") or []
                      if c.get("type") == "PodScheduled"),
                     {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                      "lastTransitionTime": now})
    conditions = [c for c in previous.get("conditions") or []  # others' (mergePodStatus)
                  if c.get("type") not in KUBELET_CONDITIONS] + [
        _condition("PodReadyToStartContainers", view.sandbox_ready, now, previous),
        _condition("Initialized", initialized, now, previous, "ContainersNotInitialized",
                   f"containers with incomplete status: [{' '.join(incomplete)}]"),
        _ready_condition(spec, containers_ready, now, previous, reason, message),
        _condition("ContainersReady", containers_ready, now, previous, reason, message),
        dict(scheduled),
    ]
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": conditions,
        "hostIP": view.host_ip,
        "hostIPs": [{"ip": view.host_ip}] if view.host_ip else [],
        "podIP": view.pod_ip or None,
        "podIPs": [{"ip": view.pod_ip}] if view.pod_ip else [],
        "startTime": previous.get("startTime") or view.start_time or now,
        "qosClass": qos_class(pod),
        "containerStatuses": statuses,
    }
    if init_specs:
        status["initContainerStatuses"] = init_statuses
    if spec.get("ephemeralContainers"):
        status["ephemeralContainerStatuses"] = [
            container_status(c, view.ephemeral.get(c["name"], ContainerView()), view.runtime)
            for c in spec["ephemeralContainers"]]
    return status
