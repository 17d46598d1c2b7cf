"""What a sync should do for a pod: upstream's computePodActions, as a pure function.

`compute_pod_actions(pod, sandboxes, containers, memory, now)` looks at the Pod, its
sandboxes and container instances as CRI lists them, and what the kubelet remembers (the
CrashLoopBackOff of each container), and returns a `PodActions`; the worker (`worker.py`)
carries it out in numbered steps, as upstream's SyncPod. The rules, in upstream's order:

1. **No ready sandbox**: create one (attempt = the newest sandbox's + 1) after killing what
   still runs, and start over from the first init container (or every app container, minus
   those an `OnFailure` pod finished with 0). Not when nothing would run in it: a
   `restartPolicy: Never` pod whose containers ran already, or a pod whose app containers
   all finished for good, only has its leftovers killed.
2. **Init containers**, in order, in the ready sandbox: one regular init container at a
   time, each to exit 0; a failed one is restarted (with backoff) unless the pod's
   restartPolicy is `Never`, which kills the pod instead. A restartable init container
   (`restartPolicy: Always`, a sidecar) is started in its turn and, once running and started
   (its startupProbe, if any, succeeded), lets the next one start; it is probed like an app
   container and restarted whenever it exits, also after initialization. Once any app
   container exists in the sandbox, initialization is over and only sidecars are looked at.
3. **App containers** once initialized: a missing one is started; an exited one restarted
   per restartPolicy (`Always`; `OnFailure` after a non-zero exit; `Never` not); one stuck
   in `created` (its start failed) is started anew, one in `unknown` killed first; running
   ones are kept (and probed).
4. **Ephemeral containers** (`kubectl debug`), in a ready sandbox, even before
   initialization is over: each is started once and never restarted.
5. **Backoff**: a restart waits the container's CrashLoopBackOff delay (`backoff.py`) after
   its exit;
   the container then waits with reason `CrashLoopBackOff`. A restart removes the instances
   older than the last one (which is kept for `kubectl logs --previous`).

What this leaves to others: whether the pod is terminating (deleted, evicted, finished, past
its activeDeadlineSeconds) is `lifecycle.py`'s decision; pulling is `images/pull_policy.py`'s;
probes run and kill in the worker's probe step (upstream's prober, ProbeTracker decides).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nodelab.kubelet.pods.backoff import (
    BackoffSettings,
    ContainerMemory,
    backoff_event_due,
    crash_loop_message,
    restart_not_before,
)
from nodelab.kubelet.pods.status import Instance
from nodelab.kubewire.times import parse_time

SANDBOX_CHANGED_GRACE = 2  # seconds a container of a dead sandbox gets before SIGKILL


@dataclass(frozen=True)
class Sandbox:
    """One pod sandbox as CRI lists it."""

    id: str
    attempt: int
    ready: bool


@dataclass(frozen=True)
class ContainerToStart:
    name: str
    attempt: int  # the new instance's attempt (its restartCount)
    init: bool = False
    restart: bool = False  # an instance ran before: the start counts against the backoff
    reset_backoff: bool = False  # the last instance ran longer than the reset period
    remove: tuple[str, ...] = ()  # older dead instances to remove first
    target_id: str = ""  # an ephemeral container's targetContainerName: share its PIDs


@dataclass(frozen=True)
class ContainerToKill:
    id: str
    name: str
    message: str
    grace: int = SANDBOX_CHANGED_GRACE


@dataclass(frozen=True)
class BackingOff:
    """A container that stays down this sync: its restart waits for the backoff."""

    name: str
    message: str
    event: bool  # record the BackOff event (once per waiting period)
    reason: str = "CrashLoopBackOff"


@dataclass(frozen=True)
class PodActions:
    """Upstream's podActions: what one sync does, in the order the worker does it."""

    kill_pod: bool = False  # stop every running container and the ready sandbox
    create_sandbox: bool = False
    sandbox_id: str = ""  # the ready sandbox; with create_sandbox, the one replaced ("": none)
    attempt: int = 0  # the sandbox attempt (of the one to create, or the ready one)
    containers_to_kill: tuple[ContainerToKill, ...] = ()
    ephemeral_containers_to_start: tuple[ContainerToStart, ...] = ()
    init_containers_to_start: tuple[ContainerToStart, ...] = ()
    containers_to_start: tuple[ContainerToStart, ...] = ()
    backing_off: tuple[BackingOff, ...] = ()
    containers_to_probe: tuple[str, ...] = ()  # running sidecars and app containers kept


def restart_policy(pod: Mapping[str, Any]) -> str:
    return str((pod.get("spec") or {}).get("restartPolicy") or "Always")


def is_sidecar(container: Mapping[str, Any]) -> bool:
    """A restartable init container (upstream's sidecar containers)."""
    return container.get("restartPolicy") == "Always"


def should_restart(policy: str, latest: Instance | None) -> bool:
    """Upstream's ShouldContainerBeRestarted for a container that is not running."""
    if latest is None or latest.state in ("created", "unknown"):
        return True
    if latest.state == "running":
        return False
    return policy == "Always" or (policy == "OnFailure" and latest.exit_code != 0)


def seconds_ran(instance: Instance) -> float | None:
    start, end = parse_time(instance.started_at), parse_time(instance.finished_at)
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


class _Planner:
    """One computation: the inputs, and the start-or-wait rule every step shares."""

    def __init__(self, pod: Mapping[str, Any], containers: Sequence[Instance],
                 memory: Mapping[str, ContainerMemory], now: float,
                 settings: BackoffSettings) -> None:
        self.pod = pod
        self.spec = pod.get("spec") or {}
        self.policy = restart_policy(pod)
        self.memory = memory
        self.now = now
        self.settings = settings
        self.instances: dict[str, list[Instance]] = {}
        for instance in sorted(containers, key=lambda i: -i.attempt):
            self.instances.setdefault(instance.name, []).append(instance)
        self.starts: list[ContainerToStart] = []
        self.init_starts: list[ContainerToStart] = []
        self.waits: list[BackingOff] = []
        self.kills: list[ContainerToKill] = []
        self.probed: list[str] = []  # running sidecars and app containers, kept

    def latest(self, name: str, sandbox: str | None = None) -> Instance | None:
        """The newest instance of a container (in `sandbox` only, when given)."""
        for instance in self.instances.get(name, []):
            if sandbox is None or not instance.sandbox_id or instance.sandbox_id == sandbox:
                return instance
        return None

    def start(self, container: Mapping[str, Any], init: bool = False) -> None:
        """Start the container now, or say it backs off."""
        name = str(container["name"])
        latest = self.latest(name)
        target = self.init_starts if init else self.starts
        if latest is None:
            target.append(ContainerToStart(name, 0, init))
            return
        memory = self.memory.get(name) or ContainerMemory()
        until = restart_not_before(memory.backoff,
                                   latest.finished if latest.state == "exited" else 0.0)
        if until > self.now:
            meta = self.pod["metadata"]
            self.waits.append(BackingOff(name, crash_loop_message(
                memory.backoff, name, meta["name"], meta["namespace"], meta.get("uid", "")),
                backoff_event_due(until, memory.backoff, self.now, self.settings)))
            return
        ran = seconds_ran(latest)
        older = tuple(i.id for i in self.instances[name] if i.attempt < latest.attempt)
        target.append(ContainerToStart(
            name, latest.attempt + 1, init, restart=True,
            reset_backoff=ran is not None and ran > self.settings.reset, remove=older))

    def started(self, container: Mapping[str, Any], instance: Instance) -> bool:
        """A running container counts as started: no startupProbe, or it succeeded."""
        if not container.get("startupProbe"):
            return True
        memory = self.memory.get(str(container["name"]))
        return memory is not None and memory.probed_instance == instance.id and memory.started

    def kill(self, instance: Instance, message: str) -> None:
        self.kills.append(ContainerToKill(instance.id, instance.name, message))

    def actions(self, **fields: Any) -> PodActions:
        return PodActions(containers_to_kill=tuple(self.kills),
                          init_containers_to_start=tuple(self.init_starts),
                          containers_to_start=tuple(self.starts),
                          backing_off=tuple(self.waits), **fields)

    # --- 1. the sandbox ----------------------------------------------------------------------

    def new_sandbox(self, sandboxes: Sequence[Sandbox]) -> PodActions:
        for instances in self.instances.values():
            if instances[0].state == "running":
                self.kill(instances[0], "Pod sandbox changed, it will be killed and re-created.")
        replaced = sandboxes[0].id if sandboxes else ""
        apps = list(self.spec.get("containers") or [])
        ran_before = any(self.latest(c["name"]) is not None for c in apps)
        if self.policy == "Never" and sandboxes and self.instances:
            return self.actions(kill_pod=True, sandbox_id=replaced)
        wanted = [c for c in apps if not (self.policy == "OnFailure" and _succeeded(
            self.latest(c["name"])))]
        if not wanted and ran_before:
            return self.actions(kill_pod=True, sandbox_id=replaced)
        inits = list(self.spec.get("initContainers") or [])
        for container in inits[:1] or wanted:
            self.start(container, init=bool(inits))
        # upstream: KillPod whenever the sandbox is (re)created, so the old one is stopped
        return self.actions(kill_pod=bool(self.kills or sandboxes), create_sandbox=True,
                            sandbox_id=replaced,
                            attempt=sandboxes[0].attempt + 1 if sandboxes else 0)

    # --- 2. init containers ------------------------------------------------------------------

    def initialize(self, sandbox: str) -> tuple[bool, bool]:
        """(initialized, kill_pod): start what initialization needs next."""
        apps = list(self.spec.get("containers") or [])
        initialized_before = any(self.latest(c["name"], sandbox) is not None for c in apps)
        for container in self.spec.get("initContainers") or []:
            sidecar = is_sidecar(container)
            if initialized_before and not sidecar:
                continue
            latest = self.latest(container["name"], sandbox)
            state = latest.state if latest is not None else "missing"
            if state == "running" and not sidecar and not initialized_before:
                return False, False  # wait for it to finish
            if state == "running" and latest is not None and sidecar:
                self.probed.append(str(container["name"]))
                if not initialized_before and not self.started(container, latest):
                    return False, False  # its startup probe has not succeeded yet
                continue  # a started sidecar: the next one
            if state == "exited" and not sidecar and latest is not None \
                    and latest.exit_code == 0:
                continue  # a finished init container: the next one
            if state == "exited" and not sidecar and self.policy == "Never":
                return False, True  # failed for good: the pod fails
            if state == "unknown" and latest is not None:
                if not sidecar and self.policy == "Never":
                    return False, True
                self.kill(latest, f"Init container is in {state!r} state, try killing it "
                          "before restart")
            self.start(container, init=True)
            if not initialized_before:
                return False, False
        return True, False

    # --- 3. app containers -------------------------------------------------------------------

    def app_containers(self) -> None:
        """Start or restart app containers; the running ones are kept (and probed)."""
        for container in self.spec.get("containers") or []:
            latest = self.latest(container["name"])
            if latest is not None and latest.state == "running":
                self.probed.append(str(container["name"]))
            elif should_restart(self.policy, latest):
                if latest is not None and latest.state == "unknown":
                    self.kill(latest, "Container is in 'unknown' state, try killing it "
                              "before restart")
                self.start(container)


    def ephemeral_containers(self) -> tuple[ContainerToStart, ...]:
        """The ephemeral containers never started (once started, never again)."""
        starts = []
        for container in self.spec.get("ephemeralContainers") or []:
            name = str(container["name"])
            if self.latest(name) is not None:
                continue
            target = str(container.get("targetContainerName") or "")
            running = self.latest(target) if target else None
            if target and (running is None or running.state != "running"):
                self.waits.append(BackingOff(name, f"target container {target!r} is not "
                                             "running", False, "CreateContainerConfigError"))
                continue
            starts.append(ContainerToStart(name, 0, target_id=running.id if running else ""))
        return tuple(starts)


def _succeeded(instance: Instance | None) -> bool:
    return instance is not None and instance.state == "exited" and instance.exit_code == 0


def compute_pod_actions(pod: Mapping[str, Any], sandboxes: Sequence[Sandbox],
                        containers: Sequence[Instance], memory: Mapping[str, ContainerMemory],
                        now: float, settings: BackoffSettings | None = None) -> PodActions:
    """What to do for a pod this sync (sandboxes newest attempt first; `now` in wall-clock
    seconds, as the backoff's)."""
    planner = _Planner(pod, containers, memory, now, settings or BackoffSettings())
    ready = next((s for s in sandboxes if s.ready), None)
    if ready is None:
        return planner.new_sandbox(sandboxes)
    ephemeral = planner.ephemeral_containers()
    initialized, kill_pod = planner.initialize(ready.id)
    if kill_pod:
        return PodActions(kill_pod=True, sandbox_id=ready.id, attempt=ready.attempt)
    if initialized:
        planner.app_containers()
    return planner.actions(sandbox_id=ready.id, attempt=ready.attempt,
                           ephemeral_containers_to_start=ephemeral,
                           containers_to_probe=tuple(planner.probed))
