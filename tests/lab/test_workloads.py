"""Workloads and the pod lifecycle on a real lab, driven with real kubectl (issues 4 and 8):
rollouts, scale, cordon/drain, taints, probes with backoff, OOM kills, CPU throttling,
preStop, restartPolicy Never, ConfigMap updates and image pull failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nodelab.host.cgroups import cgroup_version, hierarchies
from nodelab.lab.lab import Lab
from tests.conftest import needs_root
from tests.lab.kube import eventually, kubectl, kubectl_json, ready_pods

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]


def pod_status(lab: Lab, name: str) -> dict[str, Any]:
    status: dict[str, Any] = kubectl_json(lab, "get", "pod", name)["status"]
    return status


def container(lab: Lab, name: str) -> dict[str, Any]:
    statuses = pod_status(lab, name).get("containerStatuses") or [{}]
    return dict(statuses[0])


def apply(lab: Lab, manifest: str) -> None:
    kubectl(lab, "apply", "-f", "-", input=manifest)


def test_scale_set_image_rollout_status(cluster: Lab) -> None:
    web = cluster.images.ref("web")
    kubectl(cluster, "create", "deployment", "roll", f"--image={web}", "--replicas=2")
    kubectl(cluster, "rollout", "status", "deployment/roll", "--timeout=60s")
    kubectl(cluster, "scale", "deployment/roll", "--replicas=3")
    kubectl(cluster, "rollout", "status", "deployment/roll", "--timeout=60s")
    assert len(ready_pods(cluster, "app=roll")) == 3
    first = {p["metadata"]["name"] for p in ready_pods(cluster, "app=roll")}
    busybox = cluster.images.ref("busybox")
    kubectl(cluster, "set", "image", "deployment/roll", f"web={busybox}")
    kubectl(cluster, "patch", "deployment/roll", "--type=json", "-p",
            '[{"op":"add","path":"/spec/template/spec/containers/0/command",'
            '"value":["sleep","3600"]}]')
    kubectl(cluster, "rollout", "status", "deployment/roll", "--timeout=90s")
    pods = eventually(lambda: (p := ready_pods(cluster, "app=roll")) and len(p) == 3
                      and all(x["spec"]["containers"][0]["image"] == busybox for x in p) and p)
    assert not first & {p["metadata"]["name"] for p in pods}
    sets = kubectl_json(cluster, "get", "rs", "-l", "app=roll")["items"]
    sizes = sorted(s["spec"]["replicas"] for s in sets)
    assert sizes[-1] == 3 and sum(sizes) == 3  # one ReplicaSet per template, old ones at 0
    kubectl(cluster, "delete", "deployment", "roll")


def test_taint_cordon_and_drain(cluster: Lab) -> None:
    busybox = cluster.images.ref("busybox")
    kubectl(cluster, "taint", "node", "node1", "lab=demo:NoSchedule")
    try:
        kubectl(cluster, "run", "tainted", f"--image={busybox}", "--", "sleep", "3600")
        reason = eventually(lambda: next(
            (c["message"] for c in pod_status(cluster, "tainted").get("conditions") or []
             if c["type"] == "PodScheduled" and c["status"] == "False"), None))
        assert "untolerated taint {lab: demo}" in reason
    finally:
        kubectl(cluster, "taint", "node", "node1", "lab=demo:NoSchedule-")
    eventually(lambda: ready_pods(cluster, "run=tainted"))
    kubectl(cluster, "create", "deployment", "drained", f"--image={busybox}", "--",
            "sleep", "3600")
    eventually(lambda: ready_pods(cluster, "app=drained"))
    kubectl(cluster, "cordon", "node1")
    try:
        node = kubectl_json(cluster, "get", "node", "node1")
        assert node["spec"]["unschedulable"] is True
        # --delete-emptydir-data: metrics-server keeps /tmp in an emptyDir, as upstream's
        kubectl(cluster, "drain", "node1", "--ignore-daemonsets", "--force",
                "--delete-emptydir-data", "--grace-period=1", "--timeout=90s")
        # the ReplicaSet's replacement cannot be scheduled on a cordoned node
        replacement = eventually(lambda: next(
            (p for p in kubectl_json(cluster, "get", "pods", "-l", "app=drained")["items"]
             if not p["metadata"].get("deletionTimestamp")), None))
        assert "unschedulable" in str(replacement["status"].get("conditions"))
    finally:
        kubectl(cluster, "uncordon", "node1")
    eventually(lambda: ready_pods(cluster, "app=drained"))
    kubectl(cluster, "delete", "deployment", "drained")


def test_liveness_failures_restart_with_growing_backoff(cluster: Lab) -> None:
    apply(cluster, f"""
apiVersion: v1
kind: Pod
metadata: {{name: live}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: {cluster.images.ref("busybox")}
    command: [sleep, "3600"]
    livenessProbe:
      exec: {{command: ["false"]}}
      periodSeconds: 1
      failureThreshold: 1
""")
    eventually(lambda: container(cluster, "live").get("restartCount", 0) >= 2, timeout=60)
    events = kubectl(cluster, "get", "events", "--field-selector", "involvedObject.name=live")
    assert "Liveness probe failed" in events and "will be restarted" in events
    eventually(lambda: (container(cluster, "live").get("state") or {}).get(
        "waiting", {}).get("reason") == "CrashLoopBackOff", timeout=30)
    kubectl(cluster, "delete", "pod", "live", "--grace-period=1")


def test_memory_hog_is_oom_killed_and_cpu_hog_throttled(cluster: Lab) -> None:
    busybox = cluster.images.ref("busybox")
    apply(cluster, f"""
apiVersion: v1
kind: Pod
metadata: {{name: hog}}
spec:
  restartPolicy: Never
  containers:
  - name: mem
    image: {busybox}
    command: [sh, -c, "sleep 1; head -c 200000000 /dev/zero | tail"]
    resources: {{limits: {{memory: 32Mi}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: spin}}
spec:
  containers:
  - name: cpu
    image: {busybox}
    command: [sh, -c, "while :; do :; done"]
    resources: {{limits: {{cpu: 200m, memory: 64Mi}}}}
""")
    terminated = eventually(lambda: (container(cluster, "hog").get("state") or {}).get(
        "terminated"), timeout=60)
    assert terminated["reason"] == "OOMKilled" and terminated["exitCode"] == 137
    assert pod_status(cluster, "spin")["qosClass"] == "Guaranteed"
    uid = kubectl_json(cluster, "get", "pod", "spin")["metadata"]["uid"]
    cpu_root = next(h for h in hierarchies() if (h / "nodelab").is_dir() and
                    ("cpu" in h.name.split(",") or (h / "cpu.max").exists()
                     or h.name == "cpu"))
    stats = eventually(lambda: _throttled(cpu_root, uid), timeout=30)
    assert stats > 0
    # the pod-level cgroup carries the pod's limits (Guaranteed: the sums of its containers)
    if cgroup_version() == 2:
        group = next(Path("/sys/fs/cgroup").glob(f"nodelab/**/kubepods/pod{uid}"))
        assert (group / "cpu.max").read_text().split() == ["20000", "100000"]
        assert int((group / "memory.max").read_text()) == 64 * 2**20
    else:
        pod_cpu = next(cpu_root.glob(f"nodelab/**/kubepods/pod{uid}"))
        assert (pod_cpu / "cpu.cfs_quota_us").read_text().strip() == "20000"
        memory_root = next(h for h in hierarchies() if h.name == "memory")
        pod_memory = next(memory_root.glob(f"nodelab/**/kubepods/pod{uid}"))
        assert int((pod_memory / "memory.limit_in_bytes").read_text()) == 64 * 2**20
    kubectl(cluster, "delete", "pod", "hog", "spin", "--grace-period=1")


def _throttled(root: Path, uid: str) -> int:
    for stat in root.glob(f"nodelab/**/pod{uid}/**/cpu.stat"):
        for line in stat.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key in ("nr_throttled",) and int(value) > 0:
                return int(value)
    return 0


def test_pre_stop_runs_before_term_and_never_ends_in_a_phase(cluster: Lab) -> None:
    busybox = cluster.images.ref("busybox")
    # the lab's own host directory (another lab on the machine may run this test too)
    out = Path(f"/tmp/nodelab-prestop-{cluster.name}")
    apply(cluster, f"""
apiVersion: v1
kind: Pod
metadata: {{name: hooked}}
spec:
  terminationGracePeriodSeconds: 10
  volumes: [{{name: out, hostPath: {{path: {out}, type: DirectoryOrCreate}}}}]
  containers:
  - name: c
    image: {busybox}
    command: [sh, -c, "trap 'echo term >> /out/log; exit 0' TERM; touch /tmp/trapped;
              while :; do sleep 1; done"]
    readinessProbe:  # ready once the TERM trap is set
      exec: {{command: [cat, /tmp/trapped]}}
      periodSeconds: 1
    volumeMounts: [{{name: out, mountPath: /out}}]
    lifecycle:
      preStop:
        exec: {{command: [sh, -c, "echo prestop >> /out/log"]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: ok}}
spec:
  restartPolicy: Never
  containers: [{{name: c, image: {busybox}, command: ["true"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: bad}}
spec:
  restartPolicy: Never
  containers: [{{name: c, image: {busybox}, command: [sh, -c, "exit 4"]}}]
""")
    log = out / "log"
    try:
        eventually(lambda: any(c["type"] == "Ready" and c["status"] == "True"
                               for c in pod_status(cluster, "hooked").get("conditions") or []))
        kubectl(cluster, "delete", "pod", "hooked", "--wait=true", "--timeout=60s")
        assert log.read_text().split() == ["prestop", "term"]
    finally:
        log.unlink(missing_ok=True)
        if log.parent.exists():
            log.parent.rmdir()
    assert eventually(lambda: pod_status(cluster, "ok").get("phase") == "Succeeded")
    assert eventually(lambda: pod_status(cluster, "bad").get("phase") == "Failed")
    assert container(cluster, "bad")["state"]["terminated"]["exitCode"] == 4
    kubectl(cluster, "delete", "pod", "ok", "bad")


def test_config_map_updates_reach_the_container(cluster: Lab) -> None:
    kubectl(cluster, "create", "configmap", "settings", "--from-literal=color=blue")
    apply(cluster, f"""
apiVersion: v1
kind: Pod
metadata: {{name: reader}}
spec:
  volumes: [{{name: cfg, configMap: {{name: settings}}}}]
  containers:
  - name: c
    image: {cluster.images.ref("busybox")}
    command: [sleep, "3600"]
    volumeMounts: [{{name: cfg, mountPath: /etc/settings}}]
""")
    eventually(lambda: ready_pods(cluster, "run!=nothing") and pod_status(
        cluster, "reader").get("phase") == "Running")
    assert kubectl(cluster, "exec", "reader", "--", "cat", "/etc/settings/color") == "blue"
    kubectl(cluster, "create", "configmap", "settings", "--from-literal=color=green",
            "--dry-run=client", "-o", "yaml")
    kubectl(cluster, "patch", "configmap", "settings", "-p", '{"data":{"color":"green"}}')
    assert eventually(lambda: kubectl(cluster, "exec", "reader", "--", "cat",
                                      "/etc/settings/color") == "green", timeout=30)
    kubectl(cluster, "delete", "pod", "reader", "--grace-period=1")


def test_a_missing_image_shows_err_image_pull_then_back_off(cluster: Lab) -> None:
    missing = cluster.images.ref("busybox").replace("busybox:", "no-such-image:")
    kubectl(cluster, "run", "ghost", f"--image={missing}")
    eventually(lambda: (container(cluster, "ghost").get("state") or {}).get(
        "waiting", {}).get("reason") == "ImagePullBackOff", timeout=60)
    events = kubectl(cluster, "get", "events", "--field-selector", "involvedObject.name=ghost")
    assert "Error: ErrImagePull" in events and "Error: ImagePullBackOff" in events
    assert "Back-off pulling image" in events
    # a pod that never ran a container goes at once, not after its image back-off
    kubectl(cluster, "delete", "pod", "ghost", "--grace-period=1", "--timeout=30s")


def test_post_start_hook_and_active_deadline(cluster: Lab) -> None:
    busybox = cluster.images.ref("busybox")
    apply(cluster, f"""
apiVersion: v1
kind: Pod
metadata: {{name: started}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: {busybox}
    command: [sleep, "3600"]
    lifecycle:
      postStart:
        exec: {{command: [sh, -c, "echo ran > /tmp/poststart"]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: deadline}}
spec:
  activeDeadlineSeconds: 3
  terminationGracePeriodSeconds: 1
  containers: [{{name: c, image: {busybox}, command: [sleep, "3600"]}}]
""")
    eventually(lambda: pod_status(cluster, "started").get("phase") == "Running")
    assert kubectl(cluster, "exec", "started", "--", "cat", "/tmp/poststart").strip() == "ran"
    status = eventually(lambda: (s := pod_status(cluster, "deadline")).get("phase") == "Failed"
                        and s, timeout=40)
    assert status["reason"] == "DeadlineExceeded"
    kubectl(cluster, "delete", "pod", "started", "deadline", "--grace-period=1")


def test_init_containers_sidecars_and_a_failed_init_under_never(cluster: Lab) -> None:
    busybox = cluster.images.ref("busybox")
    apply(cluster, f"""
apiVersion: v1
kind: Pod
metadata: {{name: layered}}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{{name: shared, emptyDir: {{}}}}]
  initContainers:
  - {{name: first, image: {busybox}, command: [sh, -c, "echo first >> /s/order"],
     volumeMounts: [{{name: shared, mountPath: /s}}]}}
  - {{name: side, image: {busybox}, restartPolicy: Always,
     command: [sh, -c, "echo side >> /s/order; exec sleep 3600"],
     volumeMounts: [{{name: shared, mountPath: /s}}]}}
  - {{name: second, image: {busybox}, command: [sh, -c, "echo second >> /s/order"],
     volumeMounts: [{{name: shared, mountPath: /s}}]}}
  containers:
  - {{name: app, image: {busybox}, command: [sleep, "3600"],
     volumeMounts: [{{name: shared, mountPath: /s}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: broken-init}}
spec:
  restartPolicy: Never
  initContainers: [{{name: setup, image: {busybox}, command: [sh, -c, "exit 3"]}}]
  containers: [{{name: c, image: {busybox}, command: [sleep, "3600"]}}]
""")
    eventually(lambda: pod_status(cluster, "layered").get("phase") == "Running", timeout=60)
    order = kubectl(cluster, "exec", "layered", "-c", "app", "--", "cat", "/s/order").split()
    assert order == ["first", "side", "second"]
    statuses = {s["name"]: s for s in pod_status(cluster, "layered")["initContainerStatuses"]}
    assert "running" in statuses["side"]["state"]  # the sidecar keeps running
    assert statuses["second"]["state"]["terminated"]["exitCode"] == 0

    status = eventually(lambda: (s := pod_status(cluster, "broken-init")).get("phase")
                        == "Failed" and s, timeout=60)
    setup = status["initContainerStatuses"][0]
    assert setup["state"]["terminated"]["exitCode"] == 3 and setup["restartCount"] == 0
    assert "containerID" not in status["containerStatuses"][0]  # the app never ran
    kubectl(cluster, "delete", "pod", "layered", "broken-init", "--grace-period=1")


def test_kubectl_debug_runs_an_ephemeral_container_beside_its_target(cluster: Lab) -> None:
    busybox = cluster.images.ref("busybox")
    kubectl(cluster, "run", "target", f"--image={busybox}", "--", "sleep", "3600")
    eventually(lambda: pod_status(cluster, "target").get("phase") == "Running", timeout=60)
    kubectl(cluster, "debug", "target", f"--image={busybox}", "--container=dbg",
            "--target=target", "--", "ps")
    status = eventually(lambda: [s for s in pod_status(cluster, "target").get(
        "ephemeralContainerStatuses") or [] if "terminated" in s["state"]], timeout=60)
    assert status[0]["state"]["terminated"]["exitCode"] == 0
    assert "sleep 3600" in kubectl(cluster, "logs", "target", "-c", "dbg")  # the target's PIDs
    kubectl(cluster, "delete", "pod", "target", "--grace-period=1")
