"""The kubelet's pod plans: QoS, CRI requests and pod status, against upstream's rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nodelab.kubelet.pods.cri_plan import container_config, sandbox_config
from nodelab.kubelet.pods.dns import ResolvConf, pod_dns
from nodelab.kubelet.pods.resources.qos import (
    cgroup_parent,
    container_resources,
    cpu_quota,
    cpu_shares,
    oom_score_adj,
    qos_class,
)
from nodelab.kubelet.pods.status import ContainerView, Instance, PodView, pod_status

pytestmark = pytest.mark.unit
GiB = 2**30


def pod(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default", "uid": "u1",
                         "labels": {"app": "web"}},
            "spec": {"containers": list(containers), **spec}, "status": {}}


def c(name: str = "web", requests: dict[str, str] | None = None,
      limits: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "reg/web:1.0",
            "resources": {"requests": requests or {}, "limits": limits or {}}, **extra}


def test_qos_classes_and_cgroup_parents() -> None:
    guaranteed = pod(c(limits={"cpu": "500m", "memory": "128Mi"}))
    burstable = pod(c(requests={"cpu": "100m"}))
    best_effort = pod(c())
    assert [qos_class(p) for p in (guaranteed, burstable, best_effort)] == [
        "Guaranteed", "Burstable", "BestEffort"]
    assert cgroup_parent(guaranteed) == "kubepods/podu1"
    assert cgroup_parent(burstable) == "kubepods/burstable/podu1"
    assert cgroup_parent(best_effort) == "kubepods/besteffort/podu1"
    mixed = pod(c(limits={"cpu": "1", "memory": "1Gi"}), c("side", requests={"cpu": "1"}))
    assert qos_class(mixed) == "Burstable"


def test_cpu_and_oom_formulas() -> None:
    assert cpu_shares(100) == 102 and cpu_shares(1) == 2
    assert cpu_quota(250) == 25000 and cpu_quota(5) == 1000
    guaranteed = pod(c(limits={"cpu": "500m", "memory": "128Mi"}))
    assert oom_score_adj(guaranteed, guaranteed["spec"]["containers"][0], 4 * GiB) == -997
    best = pod(c())
    assert oom_score_adj(best, best["spec"]["containers"][0], 4 * GiB) == 1000
    burst = pod(c(requests={"memory": "1Gi"}))
    assert oom_score_adj(burst, burst["spec"]["containers"][0], 4 * GiB) == 750
    tiny = pod(c(requests={"memory": "4Gi"}))
    assert oom_score_adj(tiny, tiny["spec"]["containers"][0], 4 * GiB) == 2
    resources = container_resources(guaranteed, guaranteed["spec"]["containers"][0], 4 * GiB)
    assert resources == {"cpuShares": 512, "oomScoreAdj": -997, "cpuPeriod": 100000,
                         "cpuQuota": 50000, "memoryLimitInBytes": 128 * 2**20}


def test_sandbox_config_names_the_pod_and_its_ports(tmp_path: Path) -> None:
    spec_pod = pod(c(ports=[{"containerPort": 8080, "hostPort": 30080}]))
    spec_pod["metadata"]["annotations"] = {"team": "a"}
    dns = pod_dns(spec_pod, ResolvConf(), ["10.96.0.10"], "cluster.local")
    config = sandbox_config(spec_pod, 0, tmp_path, dns=dns)
    assert config["metadata"] == {"name": "web", "namespace": "default", "uid": "u1",
                                  "attempt": 0}
    assert config["hostname"] == "web"
    assert config["logDirectory"] == str(tmp_path / "default_web_u1")
    assert config["portMappings"] == [{"protocol": "TCP", "containerPort": 8080,
                                       "hostPort": 30080, "hostIp": ""}]
    assert config["labels"]["io.kubernetes.pod.uid"] == "u1"
    assert config["annotations"] == {"team": "a"}  # the pod's only (newPodAnnotations)
    assert config["dnsConfig"]["searches"][0] == "default.svc.cluster.local"
    assert config["linux"]["cgroupParent"] == "kubepods/besteffort/podu1"


def test_container_config_merges_command_env_and_mounts() -> None:
    spec_pod = pod(c(command=["sh"], args=["-c", "echo hi"],
                     env=[{"name": "A", "value": "1"},
                          {"name": "ME", "valueFrom": {"fieldRef": {
                              "fieldPath": "metadata.name"}}}]))
    config = container_config(spec_pod, spec_pod["spec"]["containers"][0], attempt=2,
                              image="reg/web:1.0",
                              mounts=[{"containerPath": "/data", "hostPath": "/x"}],
                              memory_capacity=GiB)
    assert config["metadata"] == {"name": "web", "attempt": 2}
    assert config["command"] == ["sh"] and config["args"] == ["-c", "echo hi"]
    assert config["envs"] == [{"key": "A", "value": "1"}, {"key": "ME", "value": "web"}]
    assert config["logPath"] == "web/2.log"
    assert config["annotations"]["io.kubernetes.container.restartCount"] == "2"
    # the pod's grace, for a kill after the pod is gone (upstream's newContainerAnnotations)
    assert config["annotations"]["io.kubernetes.pod.terminationGracePeriod"] == "30"


def running(name: str = "web", attempt: int = 0) -> Instance:
    return Instance(id=f"{name}{attempt}", name=name, attempt=attempt, state="running",
                    started_at="2026-01-01T00:00:00Z")


def exited(code: int, name: str = "web", attempt: int = 0) -> Instance:
    return Instance(id=f"{name}{attempt}", name=name, attempt=attempt, state="exited",
                    exit_code=code, started_at="2026-01-01T00:00:00Z",
                    finished_at="2026-01-01T00:00:05Z")


def view(*containers: tuple[str, ContainerView]) -> PodView:
    return PodView(sandbox_ready=True, pod_ip="10.244.0.5", host_ip="172.29.1.11",
                   containers=dict(containers))


def conditions(status: dict[str, Any]) -> dict[str, str]:
    return {k["type"]: k["status"] for k in status["conditions"]}


def test_running_and_ready_pod_status() -> None:
    status = pod_status(pod(c()), view(("web", ContainerView(running(), ready=True,
                                                              started=True))), "T")
    assert status["phase"] == "Running"
    assert conditions(status) == {"PodReadyToStartContainers": "True", "Initialized": "True",
                                  "Ready": "True", "ContainersReady": "True",
                                  "PodScheduled": "True"}
    container = status["containerStatuses"][0]
    assert container["state"] == {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
    assert container["containerID"] == "nodelab://web0"
    assert status["podIP"] == "10.244.0.5" and status["qosClass"] == "BestEffort"


def test_crash_loop_status_keeps_the_last_termination() -> None:
    status = pod_status(pod(c()), view(("web", ContainerView(
        exited(1, attempt=3), waiting_reason="CrashLoopBackOff",
        waiting_message="back-off 40s restarting failed container"))), "T")
    container = status["containerStatuses"][0]
    assert container["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert container["lastState"]["terminated"]["exitCode"] == 1
    assert container["lastState"]["terminated"]["reason"] == "Error"
    assert container["restartCount"] == 3
    assert status["phase"] == "Running"
    assert conditions(status)["Ready"] == "False"


@pytest.mark.parametrize(("policy", "code", "phase"), [
    ("Never", 0, "Succeeded"), ("Never", 2, "Failed"), ("OnFailure", 0, "Succeeded"),
    ("OnFailure", 2, "Running"), ("Always", 0, "Running"),
])
def test_phases_of_finished_containers(policy: str, code: int, phase: str) -> None:
    status = pod_status(pod(c(), restartPolicy=policy),
                        view(("web", ContainerView(exited(code)))), "T")
    assert status["phase"] == phase


def test_pending_until_the_sandbox_and_containers_exist() -> None:
    status = pod_status(pod(c()), PodView(), "T")
    assert status["phase"] == "Pending"
    assert status["containerStatuses"][0]["state"] == {"waiting": {
        "reason": "ContainerCreating"}}
    assert conditions(status)["PodReadyToStartContainers"] == "False"


def test_pod_level_limits_follow_the_qos_class() -> None:
    from nodelab.kubelet.pods.resources.pod_cgroup import PodLimits, pod_limits, weight_from_shares

    guaranteed = pod(c(limits={"cpu": "500m", "memory": "128Mi"}),
                     c("b", limits={"cpu": "250m", "memory": "64Mi"}))
    assert pod_limits(guaranteed) == PodLimits(768, 75000, 192 * 2**20)
    partly = pod(c(requests={"cpu": "100m"}, limits={"cpu": "200m"}), c("b"))
    assert pod_limits(partly) == PodLimits(102, None, None)  # one container without limits
    every = pod(c(requests={"cpu": "100m", "memory": "10Mi"},
                  limits={"cpu": "200m", "memory": "20Mi"}))
    assert pod_limits(every) == PodLimits(102, 20000, 20 * 2**20)
    assert pod_limits(pod(c())) == PodLimits(2)
    assert weight_from_shares(2) == 1 and weight_from_shares(1024) == 39


def test_crash_loop_back_off_cap_is_a_kubelet_setting() -> None:
    from nodelab.kubelet.config import KubeletConfig

    config = KubeletConfig.from_document(
        {"crashLoopBackOff": {"maxContainerRestartPeriod": "20s"}})
    assert config.crash_loop_back_off_max == 20.0
    assert KubeletConfig().crash_loop_back_off_max == 300.0


@pytest.mark.parametrize(("policy", "phase"), [
    ("Never", "Failed"), ("OnFailure", "Pending"), ("Always", "Pending"),
])
def test_a_failed_init_container_fails_only_a_never_pod(policy: str, phase: str) -> None:
    spec = pod(c(), restartPolicy=policy, initContainers=[c("init")])
    seen = PodView(sandbox_ready=False, init={"init": ContainerView(exited(1, name="init"))})
    assert pod_status(spec, seen, "T")["phase"] == phase


@pytest.mark.parametrize(("sidecar_ready", "ready"), [(True, "True"), (False, "False")])
def test_a_sidecar_counts_for_ready(sidecar_ready: bool, ready: str) -> None:
    spec = pod(c(), initContainers=[c("side", restartPolicy="Always")])
    seen = view(("web", ContainerView(running(), ready=True, started=True)))
    seen.init["side"] = ContainerView(running("side"), ready=sidecar_ready, started=True)
    status = pod_status(spec, seen, "T")
    assert conditions(status)["Ready"] == ready
    if not sidecar_ready:
        ready_condition = next(k for k in status["conditions"] if k["type"] == "Ready")
        assert ready_condition["message"] == "containers with unready status: [side]"


def test_an_ephemeral_container_has_a_status_and_joins_its_target() -> None:
    from nodelab.kubelet.pods.ephemeral import with_target_pid

    spec = pod(c(), ephemeralContainers=[c("dbg", targetContainerName="web")])
    seen = view(("web", ContainerView(running(), ready=True, started=True)))
    seen.ephemeral["dbg"] = ContainerView(exited(0, name="dbg"))
    status = pod_status(spec, seen, "T")
    [debug] = status["ephemeralContainerStatuses"]
    assert debug["state"]["terminated"]["reason"] == "Completed" and debug["restartCount"] == 0
    assert conditions(status)["Ready"] == "True"  # it does not count for readiness
    config = {"linux": {"securityContext": {"namespaceOptions": {"pid": "CONTAINER",
                                                                  "network": "POD"}}}}
    joined = with_target_pid(config, "abc")
    assert joined["linux"]["securityContext"]["namespaceOptions"] == {
        "pid": "TARGET", "targetId": "abc", "network": "POD"}
    assert config["linux"]["securityContext"]["namespaceOptions"]["pid"] == "CONTAINER"


def test_app_containers_of_a_pod_with_init_containers_wait_with_pod_initializing() -> None:
    spec = pod(c(), initContainers=[c("init")])
    seen = PodView(sandbox_ready=True, init={"init": ContainerView(running("init"))})
    status = pod_status(spec, seen, "T")
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert status["initContainerStatuses"][0]["state"]["running"]
    assert pod_status(pod(c()), PodView(), "T")["containerStatuses"][0]["state"] == {
        "waiting": {"reason": "ContainerCreating"}}


GATE = "www.example.com/feature-1"


@pytest.mark.parametrize(("containers_ready", "gate", "ready", "reason", "message"), [
    (True, None, "False", "ReadinessGatesNotReady",
     f'corresponding condition of pod readiness gate "{GATE}" does not exist.'),
    (True, "False", "False", "ReadinessGatesNotReady",
     f'the status of pod readiness gate "{GATE}" is not "True", but False'),
    (True, "True", "True", None, None),
    (False, "True", "False", "ContainersNotReady", "containers with unready status: [web]"),
])
def test_readiness_gates_hold_ready(containers_ready: bool, gate: str | None, ready: str,
                                    reason: str | None, message: str | None) -> None:
    """Upstream's GeneratePodReadyCondition: ContainersReady first, then every gate's
    condition (set by another component through the status) must be True."""
    spec = pod(c(), readinessGates=[{"conditionType": GATE}])
    if gate is not None:
        spec["status"] = {"conditions": [{"type": GATE, "status": gate}]}
    status = pod_status(spec, view(("web", ContainerView(running(), ready=containers_ready,
                                                         started=True))), "T")
    condition = next(k for k in status["conditions"] if k["type"] == "Ready")
    assert (condition["status"], condition.get("reason"), condition.get("message")) == (
        ready, reason, message)
    assert conditions(status)["ContainersReady"] == ("True" if containers_ready else "False")
    # the kubelet keeps the gate's condition as it was set (mergePodStatus), never invents it
    assert conditions(status).get(GATE) == gate
