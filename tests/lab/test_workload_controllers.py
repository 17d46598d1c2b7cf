"""Jobs, DaemonSets, CronJobs, StatefulSets and ReplicationControllers on a real 2-node lab,
driven with real kubectl (issue 20). One lab for the module; each test uses its own names."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from nodelab.kube.times import parse_time
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
    return next((c for c in (obj.get("status") or {}).get("conditions") or []
                 if c["type"] == kind and c["status"] == "True"), None)


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
    events = kubectl(lab2, "get", "events", "--field-selector",
                     "involvedObject.kind=Job,involvedObject.name=flaky")
    assert "SuccessfulCreate" in events and "BackoffLimitExceeded" in events
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
