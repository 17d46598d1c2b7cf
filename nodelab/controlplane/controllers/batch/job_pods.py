"""A Job's pods: how they are made from the template, their completion index, when they
finished, and the exponential back-off between failures (upstream's pkg/controller/job
`indexed_job_utils.go`, `backoff_utils.go` and `podControl.CreatePodsWithGenerateName`).

- Every pod carries the template's labels (the API server added `batch.kubernetes.io/
  controller-uid` and `batch.kubernetes.io/job-name` to them), an ownerReference to the Job and
  the `batch.kubernetes.io/job-tracking` finalizer: the controller counts a finished pod in
  `status.uncountedTerminatedPods` before it lets the pod go, so deleting a finished pod never
  loses a success or a failure.
- An Indexed Job's pod is named `<job>-<index>-<random>`, has the index as annotation and label
  `batch.kubernetes.io/job-completion-index`, the environment variable `JOB_COMPLETION_INDEX`
  (a fieldRef to that annotation) in every container and init container, and the hostname
  `<job>-<index>` unless the template sets one.
- A pod's finish time is its containers' latest `finishedAt`, else when it turned Ready=False,
  else its deletionTimestamp minus its grace period, else its creation time.
- Back-off: after n failures since the last success, a new pod waits 10 s * 2^(n-1) (capped at
  10 minutes) from the last failure.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from typing import Any

from nodelab.controlplane.controllers.workloads.replicaset_plan import owned_by, owner_reference
from nodelab.kube.objects import ObjectView
from nodelab.kubewire.times import parse_time

FINALIZER = "batch.kubernetes.io/job-tracking"
INDEX_KEY = "batch.kubernetes.io/job-completion-index"
INDEX_ENV = "JOB_COMPLETION_INDEX"
DEFAULT_BACKOFF = dt.timedelta(seconds=10)
MAX_BACKOFF = dt.timedelta(minutes=10)


def is_indexed(job: ObjectView) -> bool:
    return (job.get("spec") or {}).get("completionMode") == "Indexed"


def completion_index(pod: ObjectView) -> int | None:
    text = ((pod.get("metadata") or {}).get("annotations") or {}).get(INDEX_KEY)
    if text is None or not str(text).isdigit():
        return None
    return int(text)


def has_finalizer(pod: ObjectView) -> bool:
    return FINALIZER in ((pod.get("metadata") or {}).get("finalizers") or [])


def job_pods(job: ObjectView, pods: Sequence[ObjectView]) -> list[ObjectView]:
    return [p for p in pods if owned_by(p, job)]


def pod_for_job(job: ObjectView, index: int | None) -> dict[str, Any]:
    template = copy.deepcopy((job.get("spec") or {}).get("template") or {})
    metadata = template.get("metadata") or {}
    spec: dict[str, Any] = template.get("spec") or {}
    name = job["metadata"]["name"]
    labels = dict(metadata.get("labels") or {})
    annotations = dict(metadata.get("annotations") or {})
    generate = f"{name}-"
    if index is not None:
        labels[INDEX_KEY] = annotations[INDEX_KEY] = str(index)
        generate = f"{name}-{index}-"
        for kind in ("initContainers", "containers"):
            for container in spec.get(kind) or []:
                env = [e for e in container.get("env") or [] if e.get("name") != INDEX_ENV]
                env.append({"name": INDEX_ENV, "valueFrom": {"fieldRef": {
                    "apiVersion": "v1", "fieldPath": f"metadata.annotations['{INDEX_KEY}']"}}})
                container["env"] = env
        if not spec.get("hostname"):
            spec["hostname"] = f"{name}-{index}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": generate,
            "namespace": job["metadata"]["namespace"],
            "labels": labels,
            "annotations": annotations,
            "finalizers": [FINALIZER],
            "ownerReferences": [owner_reference(job, "Job", "batch/v1")],
        },
        "spec": spec,
    }


def finish_time(pod: ObjectView) -> dt.datetime:
    status, metadata = pod.get("status") or {}, pod.get("metadata") or {}
    finished: list[dt.datetime] = []
    statuses = status.get("containerStatuses") or []
    for container in statuses:
        moment = parse_time(((container.get("state") or {}).get("terminated") or {}).get(
            "finishedAt"))
        if moment is None:
            finished = []
            break
        finished.append(moment)
    if finished:
        return max(finished)
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "False":
            moment = parse_time(condition.get("lastTransitionTime"))
            if moment is not None:
                return moment
    deleting = parse_time(metadata.get("deletionTimestamp"))
    if deleting is not None:
        return deleting - dt.timedelta(seconds=int(metadata.get("deletionGracePeriodSeconds")
                                                   or 0))
    return parse_time(metadata.get("creationTimestamp")) or dt.datetime.min.replace(
        tzinfo=dt.timezone.utc)


def backoff_remaining(succeeded: Sequence[ObjectView], failed: Sequence[ObjectView],
                      now: dt.datetime,
                      base: dt.timedelta = DEFAULT_BACKOFF,
                      cap: dt.timedelta = MAX_BACKOFF) -> dt.timedelta:
    """How long new pods must still wait, given the Job's finished pods."""
    last_success = max((finish_time(p) for p in succeeded), default=None)
    failures = sorted(finish_time(p) for p in failed
                      if last_success is None or finish_time(p) > last_success)
    if not failures:
        return dt.timedelta(0)
    delay = base
    for _ in range(1, len(failures)):
        delay *= 2
        if delay >= cap:
            delay = cap
            break
    return max(delay - (now - failures[-1]), dt.timedelta(0))


def parse_indexes(text: str | None, limit: int) -> set[int]:
    """`status.completedIndexes` ("1,3-5,7") as a set, ignoring indexes >= `limit`."""
    found: set[int] = set()
    for part in (text or "").split(","):
        first, _, last = part.strip().partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            continue
        found.update(i for i in range(int(first), int(last or first) + 1) if i < limit)
    return found


def format_indexes(indexes: set[int]) -> str:
    """Intervals in order, as upstream writes `completedIndexes`: "0-2,5"."""
    parts: list[str] = []
    ordered = sorted(indexes)
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        first, last = ordered[start], ordered[end]
        parts.append(str(first) if first == last else f"{first}-{last}")
        start = end + 1
    return ",".join(parts)
