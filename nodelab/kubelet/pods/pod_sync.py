"""Syncing a pod that should run: upstream's SyncPod (kubelet.go) and the runtime manager's
SyncPod (kuberuntime_manager.go), carrying out what `actions.py` decides, through CRI.

The pod worker (`worker.py`, upstream's pod_workers.go) calls `sync_pod` while the pod's life
is syncing. Admission comes first (once: `admission/`); then the numbered steps:
1. compute the actions (`compute_pod_actions`) from the pod, CRI's sandboxes and containers
   and what is remembered per container (backoffs, probes); while the runtime's network is
   not ready, nothing starts and only the status is posted (`network_gate.py`);
2. kill the pod if the actions say so (nothing left to run in it);
3. kill the containers to kill (those of a dead sandbox, one in an unknown state);
4. create the sandbox if needed: pod cgroup, RunPodSandbox (network namespace, CNI ADD,
   hostname, DNS); then the volumes are set up (ConfigMap and Secret files refreshed);
5. start the ephemeral containers (`kubectl debug`) and the init containers to start (pull
   per `images/pull_policy.py`, create, start, postStart: upstream's startContainer);
6. start the app containers to start; containers backing off wait with CrashLoopBackOff;
7. run the probes due now on the running app containers (a failed liveness or startup probe
   kills the container);
8. compute the status and post it when it changed.

The answer says how the sync went (`requeue.SyncOutcome`: a container that could not be
started for another reason than a back-off fails it, as upstream's SyncPod returns that
error) and whether the pod is settled (`pleg.settled`), which decide when the worker syncs
again on its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from nodelab.errors import NodelabError
from nodelab.kube.objects import Object
from nodelab.kube.verbs import STRATEGIC_PATCH, ResourceVerbs
from nodelab.kubelet.pods.actions import (
    ContainerToKill,
    ContainerToStart,
    PodActions,
    Sandbox,
    compute_pod_actions,
)
from nodelab.kubelet.pods.admission import Rejection
from nodelab.kubelet.pods.backoff import Backoff, ContainerMemory, next_backoff
from nodelab.kubelet.pods.cri_plan import container_config, sandbox_config
from nodelab.kubelet.pods.dns import pod_dns
from nodelab.kubelet.pods.env.variables import EnvError, EnvSources, container_env
from nodelab.kubelet.pods.ephemeral import with_target_pid
from nodelab.kubelet.pods.etc_hosts import hosts_mounts
from nodelab.kubelet.pods.hooks import grace_period, run_post_start
from nodelab.kubelet.pods.images.manager import ImageManager
from nodelab.kubelet.pods.network_gate import NETWORK_NOT_READY, network_wait
from nodelab.kubelet.pods.pleg import settled
from nodelab.kubelet.pods.probes.prober import probe_container
from nodelab.kubelet.pods.requeue import SyncOutcome, start_failed
from nodelab.kubelet.pods.resources.pod_cgroup import apply_pod_cgroup, pod_limits
from nodelab.kubelet.pods.runtime_calls import PodRuntime
from nodelab.kubelet.pods.security.security_context import (
    SecurityContextError,
    verify_run_as_non_root,
)
from nodelab.kubelet.pods.settings import PodSettings
from nodelab.kubelet.pods.status import Instance, PodView, fill_view, pod_status
from nodelab.kubelet.pods.status_patch import status_patch
from nodelab.kubelet.pods.termination import kill_pod, post_rejected
from nodelab.kubelet.pods.termination_message import message_mounts
from nodelab.kubelet.pods.volumes.empty_dir import memory_ceiling
from nodelab.kubelet.pods.volumes.pod_volumes import (
    PodVolumes,
    VolumeError,
    VolumeSources,
    container_mounts,
    prepare_volumes,
)
from nodelab.kubelet.pods.volumes.subpath import SubPathError
from nodelab.kubewire import times

log = logging.getLogger("nodelab.kubelet.pods")
SANDBOX_READY = 0
Admission = Callable[[Object, bool], Rejection | None]  # (pod, already started) -> refusal
Recorder = Callable[..., None]  # (pod, reason, message, kind="Normal"): an event


@dataclass(frozen=True)
class SyncResult:
    outcome: SyncOutcome
    settled: bool = False  # nothing to poll for until something changes (pleg.settled)


class PodSync:
    """What one pod's syncs remember (each container's backoff, probes and waiting reason,
    the last status posted) and the steps that carry its actions out; `syncing` says whether
    the pod's life still allows starting anything (the evictor may end it mid-sync)."""

    def __init__(self, uid: str, runtime: PodRuntime, rest: ResourceVerbs,
                 settings: PodSettings, sources: VolumeSources, event: Recorder,
                 syncing: Callable[[], bool],
                 services: Callable[[], list[Object] | None] = lambda: [],
                 admission: Admission = lambda _pod, _started: None) -> None:
        self.uid = uid
        self.runtime = runtime
        self.rest = rest
        self.settings = settings
        self.sources = sources
        self.event = event
        self.syncing = syncing
        self.services = services  # the node's view of every Service; None until listed
        self.admission = admission  # the manager's: one pod at a time, against the admitted
        self.admitted = False
        self.refusal: Rejection | None = None  # admission's answer, asked once (rejectPod)
        self.images = ImageManager(runtime, event, sources.fetch, settings.backoff)
        self.memory: dict[str, ContainerMemory] = {}
        self.posted: Object | None = None
        self.mount_failure = ""  # the last FailedMount reported

    def mem(self, name: str) -> ContainerMemory:
        return self.memory.setdefault(name, ContainerMemory())

    def sync_pod(self, pod: Object) -> SyncResult:
        # 0. admission / 1. compute the actions
        sandboxes = self.runtime.sandboxes(self.uid)
        instances = self.runtime.containers(self.uid)
        if not self.admitted:  # admission (canAdmitPod) before anything starts, once
            if self.refusal is None:
                self.refusal = self.admission(pod, bool(sandboxes))
                if self.refusal is not None:
                    self.event(pod, self.refusal.reason, self.refusal.message, "Warning")
            if self.refusal is not None:  # a sync of the pod before it shows Failed posts
                post_rejected(self.rest, pod, self.refusal.reason, self.refusal.message)
                return SyncResult(SyncOutcome.SYNCED)  # (the event was recorded once)
            self.admitted = True
        seen = [Sandbox(str(s.id), int(s.metadata.attempt), s.state == SANDBOX_READY)
                for s in sandboxes]
        actions = compute_pod_actions(pod, seen, instances, self.memory, time.time(),
                                      self.settings.backoff)
        waiting = network_wait(pod, self.runtime.network.error())
        if waiting is not None:  # NetworkNotReady: start nothing (network_gate.py)
            self.event(pod, NETWORK_NOT_READY, waiting, "Warning")
            self.post_status(pod, self.view(pod, "" if actions.create_sandbox
                                            else actions.sandbox_id, instances))
            return SyncResult(SyncOutcome.NETWORK_NOT_READY)
        # 2. kill the pod (also when its sandbox changed: the old one's network is torn
        # down, as upstream's killPodWithSyncResult does) / 3. kill containers
        if actions.kill_pod:
            kill_pod(self.runtime, self.event, self.uid, pod, grace_period(pod))
        self.kill_containers(actions.containers_to_kill)
        # 4. create the sandbox
        dns = pod_dns(pod, self.settings.node_resolv, self.settings.cluster_dns,
                      self.settings.cluster_domain)
        sandbox_conf = sandbox_config(pod, actions.attempt, self.settings.log_root, dns=dns,
                                      cgroup_root=self.settings.cgroup_root,
                                      seccomp_root=self.settings.state_dir / "seccomp")
        sandbox_id = "" if actions.kill_pod and not actions.create_sandbox \
            else actions.sandbox_id
        if actions.create_sandbox:
            for reason, message in dns.warnings:
                self.event(pod, reason, message, "Warning")
            sandbox_id = self.create_sandbox(pod, actions, sandbox_conf)
        view = self.view(pod, sandbox_id)
        changed = actions.kill_pod or bool(actions.containers_to_kill) or actions.create_sandbox
        failed = False
        if sandbox_id:
            volumes = self.mount_volumes(pod)
            # 5. ephemeral containers / init containers / 6. app containers
            for start in actions.ephemeral_containers_to_start \
                    + actions.init_containers_to_start + actions.containers_to_start:
                if volumes is None:  # upstream: nothing starts until every volume is set up
                    break
                if not self.start_one(pod, start, sandbox_id, sandbox_conf, volumes,
                                      view.pod_ip):
                    failed |= start_failed(self.mem(start.name).waiting[0])
                changed = True
            self.back_off(pod, actions)
            # 7. probes
            for name in actions.containers_to_probe:
                changed |= probe_container(self.runtime, self.event, pod, name, instances,
                                           self.mem(name), view.pod_ip)
        if changed:
            instances = self.runtime.containers(self.uid)
        # 8. status
        view = self.view(pod, sandbox_id, instances, view.pod_ip)
        self.post_status(pod, view)
        return SyncResult(SyncOutcome.FAILED if failed else SyncOutcome.SYNCED,
                          settled(pod, view))

    # --- steps -----------------------------------------------------------------------------

    def view(self, pod: Object, sandbox_id: str, instances: list[Instance] | None = None,
             pod_ip: str | None = None) -> PodView:
        """What the status is computed from: the sandbox, and the containers once known."""
        view = PodView(sandbox_ready=bool(sandbox_id), host_ip=self.settings.node_ip,
                       pod_ip=self.pod_ip(pod, sandbox_id) if pod_ip is None else pod_ip,
                       runtime=self.settings.runtime_name)
        if instances is not None:
            fill_view(pod, view, instances, self.memory)
        return view

    def pod_ip(self, pod: Object, sandbox_id: str) -> str:
        """The pod's IP: its sandbox's, or the node's for a hostNetwork pod (upstream's
        generateAPIPodStatus fills a hostNetwork pod's podIPs with the host IPs)."""
        if not sandbox_id:
            return ""
        if (pod.get("spec") or {}).get("hostNetwork"):
            return self.settings.node_ip
        return self.runtime.sandbox_ip(sandbox_id)

    def mount_volumes(self, pod: Object) -> PodVolumes | None:
        """Set up the pod's volumes; None (and a FailedMount event, once per distinct
        failure) while one cannot be, as upstream's volume manager reports it."""
        try:
            ceiling = memory_ceiling(self.settings.allocatable.get("memory", 0),
                                     pod_limits(pod).memory_limit)
            volumes = prepare_volumes(pod, self.settings.state_dir, self.sources, ceiling)
        except VolumeError as exc:
            if str(exc) != self.mount_failure:
                self.event(pod, "FailedMount", str(exc), "Warning")
                self.mount_failure = str(exc)
            return None
        self.mount_failure = ""
        return volumes

    def kill_containers(self, kills: tuple[ContainerToKill, ...]) -> None:
        for kill in kills:
            log.info("pod %s: %s (container %s)", self.uid, kill.message, kill.name)
            self.runtime.stop_container(kill.id, kill.grace)

    def create_sandbox(self, pod: Object, actions: PodActions, config: Object) -> str:
        if not self.syncing():  # terminated during this sync: the next one stops all
            raise NodelabError(f"pod {self.uid} is no longer syncing: no new sandbox")
        if actions.sandbox_id:
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
            return self.runtime.run_sandbox(config)
        except NodelabError as exc:
            self.event(pod, "FailedCreatePodSandBox", f"Failed to create pod sandbox: {exc}",
                       "Warning")
            raise

    def start_one(self, pod: Object, start: ContainerToStart, sandbox_id: str,
                  sandbox_conf: Object, volumes: PodVolumes, pod_ip: str) -> bool:
        """Start one container (a restart first removes the old instances but one); False
        if it did not start (its waiting reason says why)."""
        spec = pod.get("spec") or {}
        container = next(c for key in ("containers", "initContainers", "ephemeralContainers")
                         for c in spec.get(key) or [] if c["name"] == start.name)
        if start.restart:
            memory = self.mem(start.name)
            base = Backoff() if start.reset_backoff else memory.backoff
            memory.backoff = next_backoff(base, time.time(), self.settings.backoff)
            for old in start.remove:  # keep one dead instance for --previous
                self.runtime.remove_container(old)
        return self.start_container(pod, container, sandbox_id, sandbox_conf, volumes,
                                    start.attempt, start.init, pod_ip, start.target_id)

    def back_off(self, pod: Object, actions: PodActions) -> None:
        meta = pod["metadata"]
        for waiting in actions.backing_off:
            self.mem(waiting.name).waiting = (waiting.reason, waiting.message)
            if waiting.event:
                self.event(pod, "BackOff", f"Back-off restarting failed container "
                           f"{waiting.name} in pod {meta['name']}_{meta['namespace']}"
                           f"({self.uid})", "Warning")

    def start_container(self, pod: Object, container: Object, sandbox_id: str,
                        sandbox_conf: Object, volumes: PodVolumes, attempt: int, init: bool,
                        pod_ip: str, target_id: str = "") -> bool:
        """Upstream's startContainer: the image, the container's config (env, mounts),
        CreateContainer, StartContainer, the postStart hook."""
        name = container["name"]
        memory = self.mem(name)
        if not self.syncing() or self.images.ensure_image(pod, container, sandbox_conf,
                                                             memory) is None:
            return False
        try:
            verify_run_as_non_root(pod, container, *self.runtime.image_user(container["image"]))
            env = container_env(pod, container, self.env_sources(pod_ip))
        except (EnvError, SecurityContextError) as exc:  # retried on the next sync
            memory.waiting = ("CreateContainerConfigError", str(exc))
            self.event(pod, "Failed", f"Error: {exc}", "Warning")
            return False
        for reason, message in env.warnings:
            self.event(pod, reason, message, "Warning")
        try:
            mounts = container_mounts(container, volumes)
        except SubPathError as exc:  # upstream: CreateContainerConfigError, retried next sync
            memory.waiting = ("CreateContainerConfigError", str(exc))
            self.event(pod, "Failed", f"Error: {exc}", "Warning")
            return False
        mounts += message_mounts(self.settings.state_dir, self.uid, container, attempt)
        mounts += hosts_mounts(pod, container, self.settings.state_dir / "pods" / self.uid,
                               [pod_ip] if pod_ip else [], self.settings.cluster_domain)
        try:
            config = container_config(pod, container, attempt=attempt,
                                      image=container["image"], mounts=mounts,
                                      memory_capacity=self.settings.memory_capacity, init=init,
                                      envs=env.envs,
                                      seccomp_root=self.settings.state_dir / "seccomp")
            if target_id:
                config = with_target_pid(config, target_id)
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
            memory.backoff = next_backoff(memory.backoff, time.time(), self.settings.backoff)
            return False
        self.event(pod, "Started", f"Started container {name}")
        ok, message = run_post_start(self.runtime, self.event, pod, container, container_id,
                                     pod_ip)
        if not ok:
            memory.waiting = ("PostStartHookError", message)
            return False
        memory.waiting = ("", "")
        memory.started = False
        memory.ready = False
        memory.probes = {}
        return True

    def env_sources(self, pod_ip: str) -> EnvSources:
        return EnvSources(fetch=self.sources.fetch, services=self.services(),
                          pod_ips=[pod_ip] if pod_ip else [], host_ips=[self.settings.node_ip],
                          allocatable=self.settings.allocatable)

    # --- status ----------------------------------------------------------------------------

    def post_status(self, pod: Object, view: PodView) -> None:
        status = pod_status(pod, view, times.now())
        if status == self.posted or not self.syncing():  # never over a terminal status
            return
        patch = status_patch(self.uid, pod.get("status") or {}, status)  # what changed only
        if patch is not None:
            self.rest.patch("pods", pod["metadata"]["namespace"], pod["metadata"]["name"],
                            patch, subresource="status", content_type=STRATEGIC_PATCH)
        self.posted = status
