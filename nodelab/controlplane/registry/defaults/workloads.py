"""Defaulting of the workload kinds (Deployments, ReplicaSets, Jobs, CronJobs, DaemonSets,
StatefulSets, ReplicationControllers), as upstream's apps/v1 and batch/v1 `SetDefaults_*`: the
strategy and its rolling-update numbers, history limits, a Job's selector and labels, and the
pod template's spec as a pod's (pods.pod_spec)."""

from __future__ import annotations

from nodelab.controlplane.registry.defaults.pods import pod_spec
from nodelab.kube.objects import Object


def _template(spec: Object) -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        pod_spec(template.setdefault("spec", {}))
        template.setdefault("metadata", {})


def _rolling_update(spec: Object, key: str, rolling_defaults: Object) -> None:
    """A workload's update strategy at `spec[key]`: type RollingUpdate unless set, and then
    `rollingUpdate`'s defaults (each kind's SetDefaults_)."""
    strategy = spec.setdefault(key, {})
    if not isinstance(strategy, dict):
        return
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        if isinstance(rolling, dict):
            for field, value in rolling_defaults.items():
                rolling.setdefault(field, value)


def deployment(obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _rolling_update(spec, "strategy", {"maxUnavailable": "25%", "maxSurge": "25%"})
    _template(spec)
    obj.setdefault("status", {})


def replicaset(obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        _template(spec)
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("replicas", 0)


JOB_UID_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")
JOB_NAME_LABELS = ("job-name", "batch.kubernetes.io/job-name")


def job(obj: Object) -> None:
    """SetDefaults_Job plus the Job strategy's generated selector: unless
    `manualSelector`, the template is labelled with the Job's uid and name and the selector
    matches `batch.kubernetes.io/controller-uid`; a Job without labels takes its template's."""
    spec, meta = obj.setdefault("spec", {}), obj.setdefault("metadata", {})
    if not isinstance(spec, dict) or not isinstance(meta, dict):
        return
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy",
                    "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed")
    for rule in (spec.get("podFailurePolicy") or {}).get("rules") or []:
        for pattern in (rule or {}).get("onPodConditions") or []:
            if isinstance(pattern, dict):
                pattern.setdefault("status", "True")
    template = spec.get("template")
    if isinstance(template, dict) and spec.get("manualSelector") is not True and meta.get("uid"):
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        for key in JOB_NAME_LABELS:
            labels.setdefault(key, meta.get("name", ""))
        for key in JOB_UID_LABELS:
            labels.setdefault(key, meta["uid"])
        selector = spec.setdefault("selector", {})
        if isinstance(selector, dict):
            selector.setdefault("matchLabels", {}).setdefault(JOB_UID_LABELS[1], meta["uid"])
    if isinstance(template, dict) and not meta.get("labels"):
        labels = (template.get("metadata") or {}).get("labels")
        if labels:
            meta["labels"] = dict(labels)
    _template(spec)
    obj.setdefault("status", {})


def daemonset(obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("revisionHistoryLimit", 10)
    _rolling_update(spec, "updateStrategy", {"maxUnavailable": 1, "maxSurge": 0})
    _template(spec)
    status = obj.setdefault("status", {})
    if isinstance(status, dict):  # not omitempty in Go: clients require them
        for key in ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled",
                    "numberReady"):
            status.setdefault(key, 0)


def statefulset(obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy",
                    {"whenDeleted": "Retain", "whenScaled": "Retain"})
    _rolling_update(spec, "updateStrategy", {"partition": 0})
    _template(spec)
    obj.setdefault("status", {}).setdefault("replicas", 0)


def replicationcontroller(obj: Object) -> None:
    """SetDefaults_ReplicationController: the selector and the RC's own labels default to the
    template's labels, replicas to 1."""
    spec, meta = obj.setdefault("spec", {}), obj.setdefault("metadata", {})
    if not isinstance(spec, dict) or not isinstance(meta, dict):
        return
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") \
        if isinstance(spec.get("template"), dict) else None
    if labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        if not meta.get("labels"):
            meta["labels"] = dict(labels)
    spec.setdefault("replicas", 1)
    _template(spec)
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("replicas", 0)


def cronjob(obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    template = spec.get("jobTemplate")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        _template(template["spec"])
    obj.setdefault("status", {})
