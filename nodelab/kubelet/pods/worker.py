"""One worker per pod: drives the pod toward its spec through CRI, one sync at a time.

A sync (upstream's SyncPod, simplified but in the same order):
1. a pod being deleted is terminated (preStop hooks, the stop signal, SIGKILL after the grace
   period, the sandbox removed, volumes torn down) and then the Pod object is deleted;
2. without a ready sandbox, every old container is stopped and a new sandbox is run
   (attempt + 1): network namespace, CNI ADD, hostname, DNS;
3. volumes are set up (ConfigMap and Secret files refreshed);
4. init containers run one after the other, each to success (restartable ones keep running);
5. app containers are started; an exited one is restarted per restartPolicy with the
   CrashLoopBackOff delay (10 s doubling to the cap, reset after 10 minutes of running);
6. probes due now run; a failed liveness or startup probe kills the container;
7. the status is computed and posted when it changed.
An evicted pod (`evict()`, called by the manager for the evictor before it posts Failed)
starts nothing from then on: its syncs only stop what still runs.
A worker syncs when its pod changes, when the PLEG (`pleg.py`) sees its sandbox or containers
change in the runtime, and at least every `resync` seconds, or every `idle_resync` seconds
once the pod is settled (running and ready, no probes, no deadline).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodelab.errors import NodelabError
from nodelab.kube.events import event_for
from nodelab.kube.rest import Rest
from nodelab.kubelet.pods.cri_plan import container_config, sandbox_config
from nodelab.kubelet.pods.dns import ResolvConf, pod_dns
from nodelab.kubelet.pods.env import EnvError, EnvSources, container_env
from nodelab.kubelet.pods.pleg import settled
from nodelab.kubelet.pods.pod_cgroup import apply_pod_cgroup, pod_limits
from nodelab.kubelet.pods.probes import ProbeTracker, run_probe
from nodelab.kubelet.pods.runtime_calls import PodRuntime
from nodelab.kubelet.pods.status import ContainerView, Instance, PodView, pod_status
from nodelab.kubelet.pods.volumes import (
    VolumeSources,
    container_mounts,
    prepare_volumes,
    teardown_volumes,
)

log = logging.getLogger("nodelab.kubelet.pods")
Obj = dict[str, Any]


def now_rfc3339() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class PodSettings:
    node_name: str
    node_ip: str
    state_dir: Path
    log_root: Path
    memory_capacity: int
    runtime_name: str = "nodelab"
    backoff_initial: float = 10.0
    backoff_max: float = 300.0
    backoff_reset: float = 600.0
    cluster_dns: tuple[str, ...] = ()
    cluster_domain: str = "cluster.local"
    node_resolv: ResolvConf = field(default_factory=ResolvConf)
    cgroup_root: str = "/"
    resync: float = 1.0
    allocatable: dict[str, int] = field(default_factory=dict)  # for resourceFieldRef
    idle_resync: float = 10.0  # a settled pod's resync (upstream's syncFrequency is 1 min)


@dataclass
class Backoff:
    delay: float = 0.0
    not_before: float = 0.0


@dataclass
class ContainerMemory:
    """What the kubelet remembers about a container between syncs."""

    backoff: Backoff = field(default_factory=Backoff)
    probes: dict[str, ProbeTracker] = field(default_factory=dict)
    probed_instance: str = ""
    ready: bool = False
    started: bool = False
    waiting: tuple[str, str] = ("", "")
    pulled: bool = False


class PodWorker:
    def __init__(self, uid: str, lookup: Callable[[str], Obj | None], runtime: PodRuntime,
                 rest: Rest, settings: PodSettings, sources: VolumeSources,
                 services: Callable[[], list[Obj] | None] = lambda: []) -> None:
        self.uid = uid
        self.services = services  # the node's view of every Service; None until listed
        self.lookup = lookup
        self.runtime = runtime
        self.rest = rest
        self.settings = settings
        self.sources = sources
        self.memory: dict[str, ContainerMemory] = {}
        self.posted: Obj | None = None
        self.settled = False  # the last sync left nothing to poll for (pleg.settled)
        self.evicted = False  # set by the manager before the evictor posts Failed; never reset
        self.done = threading.Event()
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
        """From now on a sync starts nothing and stops what runs (the evictor posts Failed,
        then wakes this worker: upstream kills evicted pods through the pod worker too)."""
        self.evicted = True

    def _run(self) -> None:
        while not self._stop.is_set() and not self.done.is_set():
            try:
                self.sync(self.lookup(self.uid))
            except Exception as exc:  # the next sync retries; say why in the log
                log.warning("sync of pod %s failed: %s", self.uid, exc,
                            exc_info=not isinstance(exc, NodelabError))
            self._wake.wait(self.settings.idle_resync if self.settled
                            else self.settings.resync)
            self._wake.clear()

    # --- events ----------------------------------------------------------------------------

    def event(self, pod: Obj, reason: str, message: str, kind: str = "Normal") -> None:
        with contextlib.suppress(Exception):  # events are best effort
            self.rest.create("events", pod["metadata"]["namespace"],
                             event_for(pod, "Pod", reason, message, component="kubelet",
                                       event_type=kind, host=self.settings.node_name))

    def mem(self, name: str) -> ContainerMemory:
        return self.memory.setdefault(name, ContainerMemory())

    # --- the sync --------------------------------------------------------------------------

    def sync(self, pod: Obj | None) -> None:
        self.settled = False
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            self.terminate(pod)
            return
        if self.evicted:
            self.kill_evicted()
            return
        status = pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed"):
            self.settled = settled(pod, PodView())  # finished pods keep their status
            return
        if self.past_deadline(pod):
            self.fail_deadline(pod)
            return
        sandbox_id, pod_ip, sandbox_conf = self.ensure_sandbox(pod)
        view = PodView(sandbox_ready=bool(sandbox_id), pod_ip=pod_ip,
                       host_ip=self.settings.node_ip, runtime=self.settings.runtime_name)
        instances = self.runtime.containers(self.uid) if sandbox_id else []
        if sandbox_id:
            volumes = prepare_volumes(pod, self.settings.state_dir, self.sources)
            if self.run_init_containers(pod, sandbox_id, sandbox_conf, volumes, instances, view):
                self.run_app_containers(pod, sandbox_id, sandbox_conf, volumes, instances,
                                        view)
                instances = self.runtime.containers(self.uid)
        self.fill_view(pod, view, instances)
        self.post_status(pod, view)
        self.settled = settled(pod, view)

    def ensure_sandbox(self, pod: Obj) -> tuple[str, str, Obj]:
        sandboxes = self.runtime.sandboxes(self.uid)
        attempt = sandboxes[0].metadata.attempt if sandboxes else 0
        ready = next((s for s in sandboxes if s.state == 0), None)  # SANDBOX_READY
        dns = pod_dns(pod, self.settings.node_resolv, self.settings.cluster_dns,
                      self.settings.cluster_domain)
        config = sandbox_config(pod, attempt if ready else attempt + (1 if sandboxes else 0),
                                self.settings.log_root, dns=dns,
                                cgroup_root=self.settings.cgroup_root)
        if ready is not None:
            return str(ready.id), self.runtime.sandbox_ip(ready.id), config
        for reason, message in dns.warnings:
            self.event(pod, reason, message, "Warning")
        if self.evicted:  # evicted during this sync: the next one stops everything
            raise NodelabError(f"pod {self.uid} was evicted: no new sandbox")
        for old in self.runtime.containers(self.uid):
            if old.state == "running":
                self.runtime.stop_container(old.id, 2)
        if sandboxes:
            self.event(pod, "SandboxChanged", "Pod sandbox changed, it will be killed and "
                       "re-created.")
        parent = str(config["linux"]["cgroupParent"])
        try:
            apply_pod_cgroup(parent, pod_limits(pod))
        except OSError as exc:
            self.event(pod, "FailedCreatePodContainer",
                       f"unable to ensure pod container exists: {exc}", "Warning")
            raise NodelabError(f"cannot write the pod cgroup {parent}: {exc}") from exc
        try:
            sandbox_id = self.runtime.run_sandbox(config)
        except NodelabError as exc:
            self.event(pod, "FailedCreatePodSandBox", f"Failed to create pod sandbox: {exc}",
                       "Warning")
            raise
        return sandbox_id, self.runtime.sandbox_ip(sandbox_id), config

    def ensure_image(self, pod: Obj, container: Obj, sandbox_conf: Obj) -> str | None:
        image = container.get("image", "")
        memory = self.mem(container["name"])
        policy = container.get("imagePullPolicy") or (
            "Always" if image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1]
            else "IfNotPresent")
        present = self.runtime.image_ref(image)
        if present and (policy != "Always" or memory.pulled):
            if not memory.pulled:
                self.event(pod, "Pulled", f'Container image "{image}" already present on '
                           "machine")
                memory.pulled = True
            return present
        if policy == "Never":
            memory.waiting = ("ErrImageNeverPull", f'Container image "{image}" is not present '
                              "with pull policy of Never")
            return None
        now = time.monotonic()
        if now < memory.backoff.not_before and memory.waiting[0] in ("ErrImagePull",
                                                                      "ImagePullBackOff"):
            if memory.waiting[0] == "ErrImagePull":
                self.event(pod, "BackOff", f'Back-off pulling image "{image}"')
                self.event(pod, "Failed", "Error: ImagePullBackOff", "Warning")
            memory.waiting = ("ImagePullBackOff", f'Back-off pulling image "{image}"')
            return None
        self.event(pod, "Pulling", f'Pulling image "{image}"')
        started = time.monotonic()
        try:
            ref = self.runtime.pull(image, sandbox_conf)
        except NodelabError as exc:
            self._back_off(memory)
            memory.waiting = ("ErrImagePull", str(exc))
            self.event(pod, "Failed", f'Failed to pull image "{image}": {exc}', "Warning")
            self.event(pod, "Failed", "Error: ErrImagePull", "Warning")
            return None
        memory.pulled = True
        self.event(pod, "Pulled", f'Successfully pulled image "{image}" in '
                   f"{time.monotonic() - started:.3f}s")
        return ref

    def _back_off(self, memory: ContainerMemory) -> None:
        delay = memory.backoff.delay
        delay = self.settings.backoff_initial if delay == 0 else min(delay * 2,
                                                                     self.settings.backoff_max)
        memory.backoff = Backoff(delay, time.monotonic() + delay)

    def start_container(self, pod: Obj, container: Obj, sandbox_id: str, sandbox_conf: Obj,
                        volumes: dict[str, Path], attempt: int, init: bool = False) -> bool:
        name = container["name"]
        memory = self.mem(name)
        if self.evicted or self.ensure_image(pod, container, sandbox_conf) is None:
            return False
        try:
            env = container_env(pod, container, self.env_sources(sandbox_id))
        except EnvError as exc:  # retried on the next sync: starts once the source exists
            memory.waiting = ("CreateContainerConfigError", str(exc))
            self.event(pod, "Failed", f"Error: {exc}", "Warning")
            return False
        for reason, message in env.warnings:
            self.event(pod, reason, message, "Warning")
        try:
            mounts = container_mounts(container, volumes)
            config = container_config(pod, container, attempt=attempt,
                                      image=container["image"], mounts=mounts,
                                      memory_capacity=self.settings.memory_capacity, init=init,
                                      envs=env.envs)
            container_id = self.runtime.create_container(sandbox_id, config, sandbox_conf)
        except NodelabError as exc:
            memory.waiting = ("CreateContainerError", str(exc))
            self.event(pod, "Failed", f"Error: {exc}", "Warning")
            return False
        self.event(pod, "Created", f"Created container {name}")
        try:
            self.runtime.start_container(container_id)
        except NodelabError as exc:
            memory.waiting = ("RunContainerError", str(exc))
            self.event(pod, "Failed", f"Error: {exc}", "Warning")
            self._back_off(memory)
            return False
        self.event(pod, "Started", f"Started container {name}")
        if not self.run_post_start(pod, container, container_id):
            return False
        memory.waiting = ("", "")
        memory.started = False
        memory.ready = False
        memory.probes = {}
        return True

    def env_sources(self, sandbox_id: str) -> EnvSources:
        pod_ip = self.runtime.sandbox_ip(sandbox_id)
        return EnvSources(fetch=self.sources.fetch, services=self.services(),
                          pod_ips=[pod_ip] if pod_ip else [], host_ips=[self.settings.node_ip],
                          allocatable=self.settings.allocatable)

    def _latest(self, instances: list[Instance], name: str) -> Instance | None:
        return next((i for i in instances if i.name == name), None)

    def run_init_containers(self, pod: Obj, sandbox_id: str, sandbox_conf: Obj,
                            volumes: dict[str, Path], instances: list[Instance],
                            view: PodView) -> bool:
        """Start what init needs next; True once every init container is done."""
        policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
        for container in (pod.get("spec") or {}).get("initContainers") or []:
            latest = self._latest(instances, container["name"])
            sidecar = container.get("restartPolicy") == "Always"
            if latest is None:
                self.start_container(pod, container, sandbox_id, sandbox_conf, volumes, 0,
                                     init=True)
                return False
            if latest.state == "running":
                if sidecar:
                    continue
                return False
            if latest.state == "exited" and (latest.exit_code != 0 or sidecar):
                if policy == "Never" and not sidecar:
                    return False
                self.restart(pod, container, latest, sandbox_id, sandbox_conf, volumes, True)
                return False
        return True

    def run_app_containers(self, pod: Obj, sandbox_id: str, sandbox_conf: Obj,
                           volumes: dict[str, Path], instances: list[Instance],
                           view: PodView) -> None:
        policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
        for container in (pod.get("spec") or {}).get("containers") or []:
            latest = self._latest(instances, container["name"])
            if latest is None:
                self.start_container(pod, container, sandbox_id, sandbox_conf, volumes, 0)
            elif latest.state == "exited":
                if policy == "Always" or (policy == "OnFailure" and latest.exit_code != 0):
                    self.restart(pod, container, latest, sandbox_id, sandbox_conf, volumes)
            elif latest.state == "running":
                self.probe(pod, container, latest, view)

    def restart(self, pod: Obj, container: Obj, latest: Instance, sandbox_id: str,
                sandbox_conf: Obj, volumes: dict[str, Path], init: bool = False) -> None:
        memory = self.mem(container["name"])
        now = time.monotonic()
        if memory.backoff.not_before > now:
            left = memory.backoff.not_before - now
            memory.waiting = ("CrashLoopBackOff", (
                f"back-off {memory.backoff.delay:.0f}s restarting failed container="
                f"{container['name']} pod={pod['metadata']['name']}_"
                f"{pod['metadata']['namespace']}({self.uid})"))
            if left > memory.backoff.delay - self.settings.resync:
                self.event(pod, "BackOff", "Back-off restarting failed container "
                           f"{container['name']} in pod {pod['metadata']['name']}_"
                           f"{pod['metadata']['namespace']}({self.uid})", "Warning")
            return
        ran_for = _seconds_between(latest.started_at, latest.finished_at)
        if ran_for is not None and ran_for > self.settings.backoff_reset:
            memory.backoff = Backoff()
        self._back_off(memory)
        for older in self.runtime.containers(self.uid):
            if older.name == latest.name and older.attempt < latest.attempt:
                self.runtime.remove_container(older.id)  # keep one dead instance for --previous
        self.start_container(pod, container, sandbox_id, sandbox_conf, volumes,
                             latest.attempt + 1, init=init)

    def run_post_start(self, pod: Obj, container: Obj, container_id: str) -> bool:
        """Run the postStart hook; a failure kills the container (it restarts per policy)."""
        hook = (container.get("lifecycle") or {}).get("postStart") or {}
        if not hook:
            return True
        grace = int((pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
        if "exec" in hook:
            command = list(hook["exec"].get("command") or [])
            code, output = self.runtime.exec_sync(container_id, command, grace)
            ok, message = code == 0, f"Exec lifecycle hook ({command}) for Container " \
                f"\"{container['name']}\" in Pod \"{pod['metadata']['name']}\" failed - " \
                f"error: command exited with {code}, message: {output!r}"
        else:  # httpGet (tcpSocket is deprecated upstream and not run)
            probe = {"httpGet": hook.get("httpGet") or {}, "timeoutSeconds": grace}
            pod_ip = self.runtime.sandbox_ip(self._sandbox_of(container_id))
            outcome = run_probe(probe, container, container_id, pod_ip, self.runtime.exec_sync)
            ok, message = outcome.ok, outcome.message
        if ok:
            return True
        self.event(pod, "FailedPostStartHook", message, "Warning")
        self.runtime.stop_container(container_id, grace)
        self.mem(container["name"]).waiting = ("PostStartHookError", message)
        return False

    def _sandbox_of(self, container_id: str) -> str:
        sandboxes = self.runtime.sandboxes(self.uid)
        return str(sandboxes[0].id) if sandboxes else ""

    def past_deadline(self, pod: Obj) -> bool:
        """activeDeadlineSeconds: the pod may run that long after it started, then fails."""
        deadline = (pod.get("spec") or {}).get("activeDeadlineSeconds")
        start = (pod.get("status") or {}).get("startTime")
        if deadline is None or not start:
            return False
        started = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
        return dt.datetime.now(dt.timezone.utc) - started > dt.timedelta(seconds=int(deadline))

    def fail_deadline(self, pod: Obj) -> None:
        message = "Pod was active on the node longer than the specified deadline"
        self.event(pod, "DeadlineExceeded", message, "Warning")
        for instance in self.runtime.containers(self.uid):
            if instance.state == "running":
                self.runtime.stop_container(instance.id, 0)
        self.rest.patch("pods", pod["metadata"]["namespace"], pod["metadata"]["name"],
                        {"status": {"phase": "Failed", "reason": "DeadlineExceeded",
                                    "message": message}}, subresource="status")

    # --- probes ----------------------------------------------------------------------------

    def probe(self, pod: Obj, container: Obj, instance: Instance, view: PodView) -> None:
        memory = self.mem(container["name"])
        if memory.probed_instance != instance.id:
            started = time.monotonic()
            memory.probes = {kind: ProbeTracker(kind, container[f"{kind}Probe"], started)
                             for kind in ("startup", "liveness", "readiness")
                             if container.get(f"{kind}Probe")}
            memory.probed_instance = instance.id
            memory.started = "startup" not in memory.probes
            memory.ready = "readiness" not in memory.probes
        now = time.monotonic()
        order = ["startup"] if not memory.started else ["liveness", "readiness"]
        for kind in order:
            tracker = memory.probes.get(kind)
            if tracker is None or not tracker.due(now):
                continue
            outcome = run_probe(tracker.probe, container, instance.id, view.pod_ip,
                                self.runtime.exec_sync)
            result = tracker.record(outcome, now)
            if not outcome.ok:
                self.event(pod, "Unhealthy", f"{kind.capitalize()} probe failed: "
                           f"{outcome.message}", "Warning")
            if kind == "startup" and result is True:
                memory.started = True
            elif kind == "readiness" and result is not None:
                memory.ready = result
            elif kind in ("startup", "liveness") and result is False:
                self.event(pod, "Killing", f"Container {container['name']} failed {kind} "
                           "probe, will be restarted")
                grace = int((pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
                self.runtime.stop_container(instance.id, grace)
                memory.probes = {}
                memory.probed_instance = ""
                return

    # --- status ----------------------------------------------------------------------------

    def fill_view(self, pod: Obj, view: PodView, instances: list[Instance]) -> None:
        spec = pod.get("spec") or {}
        for target, specs in ((view.init, spec.get("initContainers") or []),
                              (view.containers, spec.get("containers") or [])):
            for container in specs:
                name = container["name"]
                mine = [i for i in instances if i.name == name]
                memory = self.mem(name)
                latest = mine[0] if mine else None
                running = latest is not None and latest.state == "running"
                if running and memory.probed_instance != latest.id:  # type: ignore[union-attr]
                    memory.started = "startupProbe" not in container
                    memory.ready = "readinessProbe" not in container
                reason, message = memory.waiting
                if running:
                    reason, message = "", ""
                target[name] = ContainerView(
                    latest=latest, previous=mine[1] if len(mine) > 1 else None,
                    waiting_reason=reason, waiting_message=message,
                    ready=running and memory.ready and memory.started,
                    started=memory.started if running else False,
                )

    def post_status(self, pod: Obj, view: PodView) -> None:
        status = pod_status(pod, view, now_rfc3339())
        if status == self.posted or self.evicted:  # never over the evictor's Failed
            return
        self.rest.patch("pods", pod["metadata"]["namespace"], pod["metadata"]["name"],
                        {"status": status}, subresource="status")
        self.posted = status

    # --- termination -----------------------------------------------------------------------

    def kill_evicted(self) -> None:
        """Stop the evicted pod's containers at once (a hard eviction has no grace period)
        and its sandboxes; keep them (and the Failed status the evictor posted) for
        `kubectl logs` and `describe`, as upstream does, until the pod is deleted."""
        for instance in self.runtime.containers(self.uid):
            if instance.state == "running":
                self.runtime.stop_container(instance.id, 0)
        for sandbox in self.runtime.sandboxes(self.uid):
            if sandbox.state == 0:  # SANDBOX_READY
                self.runtime.stop_sandbox(sandbox.id)
        self.settled = True

    def terminate(self, pod: Obj | None) -> None:
        grace = 30
        if pod is not None:
            spec = pod.get("spec") or {}
            grace = int(pod["metadata"].get("deletionGracePeriodSeconds",
                                            spec.get("terminationGracePeriodSeconds", 30)))
        deadline = time.monotonic() + grace
        instances = self.runtime.containers(self.uid)
        for instance in instances:
            if instance.state != "running":
                continue
            if pod is not None:
                self.event(pod, "Killing", f"Stopping container {instance.name}")
                self.run_pre_stop(pod, instance, deadline)
            left = max(0, int(deadline - time.monotonic()))
            self.runtime.stop_container(instance.id, left)
        for instance in instances:
            self.runtime.remove_container(instance.id)
        for sandbox in self.runtime.sandboxes(self.uid):
            self.runtime.stop_sandbox(sandbox.id)
            self.runtime.remove_sandbox(sandbox.id)
        teardown_volumes(self.uid, self.settings.state_dir)
        if pod is not None:
            body = {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                    "preconditions": {"uid": self.uid}}
            self.rest.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"], body)
        self.done.set()

    def run_pre_stop(self, pod: Obj, instance: Instance, deadline: float) -> None:
        container = next((c for c in (pod.get("spec") or {}).get("containers") or []
                          if c["name"] == instance.name), None)
        hook = ((container or {}).get("lifecycle") or {}).get("preStop") or {}
        left = int(deadline - time.monotonic())
        if not hook or left <= 0:
            return
        try:
            if "exec" in hook:
                self.runtime.exec_sync(instance.id, list(hook["exec"].get("command") or []),
                                       left)
            elif "sleep" in hook:
                time.sleep(min(float(hook["sleep"].get("seconds", 0)), left))
            elif "httpGet" in hook:
                pod_ip = (pod.get("status") or {}).get("podIP") or ""
                run_probe({"httpGet": hook["httpGet"], "timeoutSeconds": left},
                          container or {}, instance.id, pod_ip, self.runtime.exec_sync)
        except NodelabError as exc:
            self.event(pod, "FailedPreStopHook", f"PreStopHook failed: {exc}", "Warning")


def _seconds_between(start: str, end: str) -> float | None:
    if not start or not end:
        return None
    parse = dt.datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()
