"""Jobs, DaemonSets, CronJobs, StatefulSets and ReplicationControllers on a real 2-node lab,
driven with real kubectl (issue 20). One lab for the module; each test uses its own names."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nodelab.kubewire.times import parse_time
from nodelab.lab.lab import Lab, take_down_lab
from tests.conftest import needs_root, unique_lab_name
from tests.lab.kube import KUBECTL, eventually, kubectl, kubectl_json

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]


@pytest.fixture(scope="module")
def lab2() -> Iterator[Lab]:
    name = unique_lab_name()
    try:
        yield Lab.up(name, 2, progress=lambda _m: None)
    finally:
        take_down_lab(name)


def apply(lab: Lab, manifest: str) -> str:
    return kubectl(lab, "apply", "-f", "-", input=manifest)


def job_pods(lab: Lab, job: str) -> list[dict[str, Any]]:
    pods: list[dict[str, Any]] = kubectl_json(
        lab, "get", "pods", "-l", f"batch.kubernetes.io/job-name={job}")["items"]
    return sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"])


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = next(
        (c for c in (obj.get("status") or {}).get("conditions") or []
         if c["type"] == kind and c["status"] == "True"), None)
    return found


def test_kubectl_create_job_completes_and_logs_job_shows_its_output(lab2: Lab) -> None:
    busybox = lab2.images.ref("busybox")
    kubectl(lab2, "create", "job", "hello", f"--image={busybox}", "--", "sh", "-c",
            "echo hello from a job")
    kubectl(lab2, "wait", "--for=condition=complete", "job/hello", "--timeout=90s")
    assert kubectl(lab2, "logs", "job/hello").strip() == "hello from a job"
    job = kubectl_json(lab2, "get", "job", "hello")
    assert job["status"]["succeeded"] == 1
    assert condition(job, "SuccessCriteriaMet") and condition(job, "Complete")
    assert job["status"]["completionTime"] and job["status"]["uncountedTerminatedPods"] == {}
    row = kubectl(lab2, "get", "job", "hello").splitlines()[1].split()
    assert row[:3] == ["hello", "Complete", "1/1"]
    (pod,) = job_pods(lab2, "hello")
    assert pod["status"]["phase"] == "Succeeded"
    assert not pod["metadata"].get("finalizers")  # counted, then let go
    kubectl(lab2, "delete", "job", "hello", "--wait=true", "--timeout=60s")
    eventually(lambda: not job_pods(lab2, "hello"))


def test_a_failing_job_retries_with_backoff_then_fails(lab2: Lab) -> None:
    apply(lab2, f"""
apiVersion: batch/v1
kind: Job
metadata: {{name: flaky}}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers: [{{name: c, image: {lab2.images.ref("busybox")}, command: [sh, -c, "exit 3"]}}]
""")
    kubectl(lab2, "wait", "--for=condition=failed", "job/flaky", "--timeout=120s")
    job = kubectl_json(lab2, "get", "job", "flaky")
    failed = condition(job, "Failed")
    assert failed is not None and failed["reason"] == "BackoffLimitExceeded"
    assert condition(job, "FailureTarget") is not None
    assert job["status"]["failed"] == 2 and "succeeded" not in job["status"]
    first, second = job_pods(lab2, "flaky")
    assert first["status"]["phase"] == second["status"]["phase"] == "Failed"
    finished = parse_time(first["status"]["containerStatuses"][0]["state"]["terminated"][
        "finishedAt"])
    created = parse_time(second["metadata"]["creationTimestamp"])
    assert finished is not None and created is not None
    assert (created - finished).total_seconds() >= 9  # the 10 s pod-failure back-off
    # the Job controller records its events after it writes the status
    eventually(lambda: "SuccessfulCreate" in (events := kubectl(
        lab2, "get", "events", "--field-selector",
        "involvedObject.kind=Job,involvedObject.name=flaky")) and "BackoffLimitExceeded" in events,
        timeout=30)
    kubectl(lab2, "delete", "job", "flaky")


def test_indexed_job_pods_get_their_index_and_hostname(lab2: Lab) -> None:
    apply(lab2, f"""
apiVersion: batch/v1
kind: Job
metadata: {{name: idx}}
spec:
  completions: 3
  parallelism: 3
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: {lab2.images.ref("busybox")}
        command: [sh, -c, 'echo "$JOB_COMPLETION_INDEX $(hostname)"']
""")
    kubectl(lab2, "wait", "--for=condition=complete", "job/idx", "--timeout=90s")
    job = kubectl_json(lab2, "get", "job", "idx")
    assert job["status"]["completedIndexes"] == "0-2" and job["status"]["succeeded"] == 3
    outputs = {}
    for pod in job_pods(lab2, "idx"):
        index = pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        assert pod["metadata"]["name"].startswith(f"idx-{index}-")
        outputs[index] = kubectl(lab2, "logs", pod["metadata"]["name"]).strip()
    assert outputs == {"0": "0 idx-0", "1": "1 idx-1", "2": "2 idx-2"}
    kubectl(lab2, "delete", "job", "idx")


def test_pod_failure_policy_fails_the_job_at_once_and_ttl_removes_it(lab2: Lab) -> None:
    apply(lab2, f"""
apiVersion: batch/v1
kind: Job
metadata: {{name: policy}}
spec:
  backoffLimit: 6
  ttlSecondsAfterFinished: 3
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes: {{containerName: c, operator: In, values: [42]}}
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: c, image: {lab2.images.ref("busybox")}, command: [sh, -c, "exit 42"]}}]
""")
    kubectl(lab2, "wait", "--for=condition=failed", "job/policy", "--timeout=90s")
    job = kubectl_json(lab2, "get", "job", "policy")
    failed = condition(job, "Failed")
    assert failed is not None and failed["reason"] == "PodFailurePolicy"
    assert "failed with exit code 42 matching FailJob rule at index 0" in failed["message"]
    assert job["status"]["failed"] == 1
    # ttlSecondsAfterFinished: the Job and its pod go a few seconds after it finished
    eventually(lambda: kubectl(lab2, "get", "job", "policy", "--ignore-not-found") == "",
               timeout=60)
    eventually(lambda: not job_pods(lab2, "policy"))


def refused(lab: Lab, manifest: str) -> str:
    """kubectl apply's error output for a manifest the API server must refuse."""
    result = subprocess.run([KUBECTL, "--kubeconfig", str(lab.kubeconfig), "apply", "-f", "-"],
                            input=manifest, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0, result.stdout
    return result.stderr


def test_bad_jobs_are_refused_with_the_field_named(lab2: Lab) -> None:
    busybox = lab2.images.ref("busybox")
    errors = refused(lab2, f"""
apiVersion: batch/v1
kind: Job
metadata: {{name: bad}}
spec:
  template:
    spec:
      containers: [{{name: c, image: {busybox}}}]
""")
    assert 'spec.template.spec.restartPolicy: Unsupported value: "Always"' in errors
    errors = refused(lab2, f"""
apiVersion: batch/v1
kind: Job
metadata: {{name: bad}}
spec:
  completionMode: Indexed
  completions: 2
  backoffLimitPerIndex: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: c, image: {busybox}}}]
""")
    assert "spec.backoffLimitPerIndex: Forbidden" in errors


def daemon_pods(lab: Lab, app: str) -> list[dict[str, Any]]:
    pods = kubectl_json(lab, "get", "pods", "-l", f"app={app}")["items"]
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def no_pods_left(lab: Lab, *apps: str) -> bool:
    """No pod of these apps is left, terminating ones included: a later `kubectl drain`
    refuses a terminating pod whose DaemonSet is gone, as on any cluster."""
    return not any(kubectl_json(lab, "get", "pods", "-l", f"app={app}")["items"]
                   for app in apps)


def test_daemonset_runs_one_pod_per_node_and_rolls_back(lab2: Lab) -> None:
    apply(lab2, f"""
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent}}
spec:
  selector: {{matchLabels: {{app: agent}}}}
  template:
    metadata: {{labels: {{app: agent}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: c, image: {lab2.images.ref("busybox")}, command: [sleep, "3600"]}}]
""")
    kubectl(lab2, "rollout", "status", "ds/agent", "--timeout=90s")
    pods = daemon_pods(lab2, "agent")
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["node1", "node2"]
    for pod in pods:
        terms = pod["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                           "values": [pod["spec"]["nodeName"]]}]}]
        tolerated = {t["key"] for t in pod["spec"]["tolerations"]}
        assert {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable",
                "node.kubernetes.io/unschedulable"} <= tolerated
    row = kubectl(lab2, "get", "ds", "agent").splitlines()[1].split()
    assert row[:6] == ["agent", "2", "2", "2", "2", "2"]
    first = {p["metadata"]["name"] for p in pods}

    kubectl(lab2, "rollout", "restart", "ds/agent")
    kubectl(lab2, "rollout", "status", "ds/agent", "--timeout=120s")
    restarted = eventually(lambda: len(p := daemon_pods(lab2, "agent")) == 2 and p)
    assert not first & {p["metadata"]["name"] for p in restarted}
    assert all("kubectl.kubernetes.io/restartedAt" in p["metadata"].get("annotations", {})
               for p in restarted)
    history = kubectl(lab2, "rollout", "history", "ds/agent")
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]

    kubectl(lab2, "rollout", "undo", "ds/agent")
    kubectl(lab2, "rollout", "status", "ds/agent", "--timeout=120s")
    undone = eventually(lambda: (p := daemon_pods(lab2, "agent")) and len(p) == 2 and all(
        "kubectl.kubernetes.io/restartedAt" not in x["metadata"].get("annotations", {})
        for x in p) and p)
    assert sorted(p["spec"]["nodeName"] for p in undone) == ["node1", "node2"]
    revisions = kubectl_json(lab2, "get", "controllerrevisions")["items"]
    assert sorted(r["revision"] for r in revisions
                  if r["metadata"]["name"].startswith("agent-")) == [2, 3]
    kubectl(lab2, "delete", "ds", "agent")
    eventually(lambda: no_pods_left(lab2, "agent"))
    assert not [r for r in kubectl_json(lab2, "get", "controllerrevisions")["items"]
                if r["metadata"]["name"].startswith("agent-")]


def test_drain_ignore_daemonsets_leaves_the_daemon_pod(lab2: Lab) -> None:
    apply(lab2, f"""
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: stay}}
spec:
  selector: {{matchLabels: {{app: stay}}}}
  template:
    metadata: {{labels: {{app: stay}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: c, image: {lab2.images.ref("busybox")}, command: [sleep, "3600"]}}]
""")
    kubectl(lab2, "rollout", "status", "ds/stay", "--timeout=90s")
    before = {p["spec"]["nodeName"]: p["metadata"]["name"] for p in daemon_pods(lab2, "stay")}
    try:
        # --delete-emptydir-data: metrics-server (on either node) keeps /tmp in an emptyDir
        out = subprocess.run([KUBECTL, "--kubeconfig", str(lab2.kubeconfig), "drain", "node2",
                              "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s"],
                             capture_output=True, text=True, timeout=90)
        assert out.returncode == 0, out.stderr
        assert "ignoring DaemonSet-managed Pods" in out.stderr
        assert f"default/{before['node2']}" in out.stderr
        after = {p["spec"]["nodeName"]: p["metadata"]["name"] for p in daemon_pods(lab2, "stay")}
        assert after == before
        refused_drain = subprocess.run([KUBECTL, "--kubeconfig", str(lab2.kubeconfig), "drain",
                                        "node1", "--timeout=30s"],
                                       capture_output=True, text=True, timeout=60)
        assert refused_drain.returncode != 0
        assert "cannot delete DaemonSet-managed Pods" in refused_drain.stderr
    finally:
        kubectl(lab2, "uncordon", "node1", "node2")
    kubectl(lab2, "delete", "ds", "stay")
    eventually(lambda: no_pods_left(lab2, "stay"))


def test_cronjob_runs_on_schedule_and_create_job_from_it(lab2: Lab) -> None:
    busybox = lab2.images.ref("busybox")
    kubectl(lab2, "create", "cronjob", "tick", f"--image={busybox}", "--schedule=* * * * *",
            "--", "sh", "-c", "echo tick")
    kubectl(lab2, "create", "job", "manual", "--from=cronjob/tick")
    kubectl(lab2, "wait", "--for=condition=complete", "job/manual", "--timeout=90s")
    assert kubectl(lab2, "logs", "job/manual").strip() == "tick"
    manual = kubectl_json(lab2, "get", "job", "manual")
    assert manual["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert manual["metadata"]["ownerReferences"][0]["kind"] == "CronJob"

    def scheduled_done() -> dict[str, Any] | None:
        for job in kubectl_json(lab2, "get", "jobs")["items"]:
            if job["metadata"]["name"].startswith("tick-") and condition(job, "Complete"):
                return dict(job)
        return None

    job = eventually(scheduled_done, timeout=150, every=2)
    stamp = job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    scheduled = parse_time(stamp)
    assert scheduled is not None and scheduled.second == 0
    assert job["metadata"]["name"] == f"tick-{int(scheduled.timestamp()) // 60}"
    cronjob = eventually(lambda: (c := kubectl_json(lab2, "get", "cronjob", "tick"))[
        "status"].get("lastSuccessfulTime") and c)
    assert cronjob["status"]["lastScheduleTime"]
    row = kubectl(lab2, "get", "cronjob", "tick").splitlines()[1].split()
    assert row[:8] == ["tick", "*", "*", "*", "*", "*", "<none>", "False"]
    kubectl(lab2, "patch", "cronjob", "tick", "-p", '{"spec":{"suspend":true}}')
    kubectl(lab2, "delete", "cronjob", "tick")
    eventually(lambda: not [j for j in kubectl_json(lab2, "get", "jobs")["items"]
                            if j["metadata"]["name"].startswith(("tick-", "manual"))])
    errors = refused(lab2, f"""
apiVersion: batch/v1
kind: CronJob
metadata: {{name: bad}}
spec:
  schedule: "0 0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{{name: c, image: {busybox}}}]
""")
    assert "spec.schedule: Invalid value" in errors and "expected exactly 5 fields" in errors


def test_statefulset_ordered_names_partitioned_update_and_scale(lab2: Lab) -> None:
    busybox = lab2.images.ref("busybox")
    apply(lab2, f"""
apiVersion: v1
kind: Service
metadata: {{name: db}}
spec:
  clusterIP: None
  selector: {{app: db}}
  ports: [{{port: 80}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db}}
spec:
  serviceName: db
  replicas: 2
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: c, image: {busybox}, command: [sleep, "3600"]}}]
""")
    kubectl(lab2, "rollout", "status", "sts/db", "--timeout=120s")
    pods = {p["metadata"]["name"]: p for p in daemon_pods(lab2, "db")}
    assert sorted(pods) == ["db-0", "db-1"]
    assert pods["db-0"]["metadata"]["creationTimestamp"] <= pods["db-1"]["metadata"][
        "creationTimestamp"]
    assert pods["db-1"]["spec"]["subdomain"] == "db"
    assert kubectl(lab2, "exec", "db-1", "--", "hostname").strip() == "db-1"
    assert kubectl(lab2, "get", "sts", "db").splitlines()[1].split()[:2] == ["db", "2/2"]

    kubectl(lab2, "patch", "sts", "db", "--type=merge", "-p",
            '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":1}}}}')
    kubectl(lab2, "set", "env", "sts/db", "GENERATION=2")
    kubectl(lab2, "rollout", "status", "sts/db", "--timeout=120s")

    def updated() -> dict[str, str] | None:
        now = {p["metadata"]["name"]: p for p in daemon_pods(lab2, "db")}
        env = {n: str(p["spec"]["containers"][0].get("env")) for n, p in now.items()}
        return env if len(now) == 2 and "GENERATION" in env["db-1"] else None

    env = eventually(updated, timeout=90)
    assert "GENERATION" not in env["db-0"]  # below the partition
    status = kubectl_json(lab2, "get", "sts", "db")["status"]
    assert status["updatedReplicas"] == 1 and status["currentRevision"] != status[
        "updateRevision"]

    kubectl(lab2, "scale", "sts", "db", "--replicas=1")
    eventually(lambda: sorted(p["metadata"]["name"] for p in daemon_pods(lab2, "db"))
               == ["db-0"], timeout=60)
    errors = refused(lab2, f"""
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: disks}}
spec:
  serviceName: disks
  selector: {{matchLabels: {{app: disks}}}}
  template:
    metadata: {{labels: {{app: disks}}}}
    spec:
      containers: [{{name: c, image: {busybox}}}]
  volumeClaimTemplates:
  - metadata: {{name: data}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {{requests: {{storage: 1Gi}}}}
""")
    assert "spec.volumeClaimTemplates: Forbidden: nodelab has no storage provisioner" in errors
    kubectl(lab2, "delete", "sts", "db")
    kubectl(lab2, "delete", "svc", "db")
    eventually(lambda: no_pods_left(lab2, "db"))


def test_replication_controller_and_manifests_with_every_kind(lab2: Lab, tmp_path: Path) -> None:
    busybox = lab2.images.ref("busybox")
    sleeper = f"{{name: c, image: {busybox}, command: [sleep, '3600']}}"
    (tmp_path / "multi.yaml").write_text(f"""
apiVersion: v1
kind: ReplicationController
metadata: {{name: legacy}}
spec:
  replicas: 2
  template:
    metadata: {{labels: {{app: legacy}}}}
    spec: {{terminationGracePeriodSeconds: 1, containers: [{sleeper}]}}
---
apiVersion: batch/v1
kind: Job
metadata: {{name: listed-job}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: c, image: {busybox}, command: ["true"]}}]
""")
    (tmp_path / "list.yaml").write_text(f"""
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {{name: listed-ds}}
  spec:
    selector: {{matchLabels: {{app: listed-ds}}}}
    template:
      metadata: {{labels: {{app: listed-ds}}}}
      spec: {{terminationGracePeriodSeconds: 1, containers: [{sleeper}]}}
- apiVersion: batch/v1
  kind: CronJob
  metadata: {{name: listed-cron}}
  spec:
    schedule: "@daily"
    jobTemplate:
      spec:
        template:
          spec:
            restartPolicy: OnFailure
            containers: [{{name: c, image: {busybox}}}]
- apiVersion: apps/v1
  kind: StatefulSet
  metadata: {{name: listed-sts}}
  spec:
    replicas: 1
    selector: {{matchLabels: {{app: listed-sts}}}}
    template:
      metadata: {{labels: {{app: listed-sts}}}}
      spec: {{terminationGracePeriodSeconds: 1, containers: [{sleeper}]}}
""")
    out = kubectl(lab2, "apply", "-f", str(tmp_path))
    for made in ("replicationcontroller/legacy", "job.batch/listed-job",
                 "daemonset.apps/listed-ds", "cronjob.batch/listed-cron",
                 "statefulset.apps/listed-sts"):
        assert f"{made} created" in out
    rc = kubectl_json(lab2, "get", "rc", "legacy")
    assert rc["spec"]["selector"] == {"app": "legacy"} and rc["metadata"]["labels"] == {
        "app": "legacy"}
    eventually(lambda: kubectl_json(lab2, "get", "rc", "legacy")["status"].get(
        "readyReplicas") == 2, timeout=90)
    kubectl(lab2, "scale", "rc", "legacy", "--replicas=3")
    eventually(lambda: len(daemon_pods(lab2, "legacy")) == 3)
    owner = daemon_pods(lab2, "legacy")[0]["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["apiVersion"]) == ("ReplicationController", "v1")
    kubectl(lab2, "wait", "--for=condition=complete", "job/listed-job", "--timeout=90s")
    kubectl(lab2, "rollout", "status", "ds/listed-ds", "--timeout=90s")
    kubectl(lab2, "rollout", "status", "sts/listed-sts", "--timeout=90s")
    kubectl(lab2, "delete", "-f", str(tmp_path), "--wait=true", "--timeout=90s")
    eventually(lambda: no_pods_left(lab2, "legacy", "listed-ds"))

    # the official Python client's create_from_yaml, with a List in a namespace of its own
    from kubernetes import client, config, utils

    kubectl(lab2, "create", "namespace", "fromyaml")
    api = config.new_client_from_config(str(lab2.kubeconfig))  # type: ignore[no-untyped-call]
    created = utils.create_from_yaml(api, str(tmp_path / "list.yaml"), namespace="fromyaml")  # type: ignore[no-untyped-call]
    kinds = sorted(type(o).__name__ for group in created for o in group)
    assert kinds == ["V1CronJob", "V1DaemonSet", "V1StatefulSet"]
    assert client.AppsV1Api(api).read_namespaced_stateful_set("listed-sts", "fromyaml")
    kubectl(lab2, "delete", "namespace", "fromyaml", "--timeout=120s")


def node_taints(lab: Lab, name: str) -> set[tuple[str, str]]:
    node = kubectl_json(lab, "get", "node", name)
    return {(t["key"], t["effect"]) for t in node["spec"].get("taints") or []}


def test_daemon_pods_stay_on_a_node_that_goes_not_ready(lab2: Lab) -> None:
    """Last in the module: it takes node2's container runtime away for a while."""
    apply(lab2, f"""
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: watcher}}
spec:
  selector: {{matchLabels: {{app: watcher}}}}
  template:
    metadata: {{labels: {{app: watcher}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: c, image: {lab2.images.ref("busybox")}, command: [sleep, "3600"]}}]
""")
    kubectl(lab2, "rollout", "status", "ds/watcher", "--timeout=90s")
    before = {p["spec"]["nodeName"]: p["metadata"]["name"] for p in daemon_pods(lab2, "watcher")}
    lab2.stop_daemon("runtime", node="node2")
    try:
        not_ready = ("node.kubernetes.io/not-ready", "NoExecute")
        eventually(lambda: not_ready in node_taints(lab2, "node2"), timeout=90)
        # the controller sees the node should take no new daemon pod but keeps the one there
        status = eventually(lambda: (s := kubectl_json(lab2, "get", "ds", "watcher")[
            "status"]).get("numberMisscheduled") == 1 and s, timeout=30)
        assert status["desiredNumberScheduled"] == 1
        pods = daemon_pods(lab2, "watcher")
        assert {p["spec"]["nodeName"]: p["metadata"]["name"] for p in pods} == before
    finally:
        lab2.start_daemon("runtime", node="node2")
    eventually(lambda: not_ready not in node_taints(lab2, "node2"), timeout=90)
    kubectl(lab2, "rollout", "status", "ds/watcher", "--timeout=90s")
    after = {p["spec"]["nodeName"]: p["metadata"]["name"] for p in daemon_pods(lab2, "watcher")}
    assert after == before
    kubectl(lab2, "delete", "ds", "watcher")
