"""The `kubectl get` rows of the workload kinds (upstream's printDeployment, printReplicaSet,
printJob, printCronJob, printDaemonSet, printReplicationController, printControllerRevision)."""

from __future__ import annotations

import datetime
from typing import Any

from nodelab.controlplane.http.printers.cells import object_age as _age
from nodelab.controlplane.http.printers.cells import object_name as _name
from nodelab.kube.objects import Object
from nodelab.kubewire.times import age, human_duration, parse_time


def template_containers(obj: Object) -> tuple[str, str]:
    containers = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers") or []
    return (",".join(c.get("name", "") for c in containers),
            ",".join(c.get("image", "") for c in containers))


def _selector(obj: Object) -> str:
    selector = (obj.get("spec") or {}).get("selector") or {}
    return ",".join(f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items()))


def deployment_row(obj: Object) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = template_containers(obj)
    return [_name(obj), f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0), _age(obj),
            names, images, _selector(obj)]


def replicaset_row(obj: Object) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = template_containers(obj)
    return [_name(obj), spec.get("replicas", 0), status.get("replicas", 0),
            status.get("readyReplicas", 0), _age(obj), names, images, _selector(obj)]


def _job_status(obj: Object) -> str:
    true = {c.get("type") for c in (obj.get("status") or {}).get("conditions") or []
            if c.get("status") == "True"}
    for kind, text in (("Complete", "Complete"), ("Failed", "Failed")):
        if kind in true:
            return text
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    for kind in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if kind in true:
            return kind
    return "Running"


def job_row(obj: Object) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    succeeded = status.get("succeeded", 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif int(spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    duration = ""
    start = parse_time(status.get("startTime"))
    if start is not None:
        end = parse_time(status.get("completionTime")) or datetime.datetime.now(
            datetime.timezone.utc)
        duration = human_duration(max(int((end - start).total_seconds()), 0))
    names, images = template_containers(obj)
    return [_name(obj), _job_status(obj), completions, duration, _age(obj), names, images,
            _selector(obj)]


def rc_row(obj: Object) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = template_containers(obj)
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return [_name(obj), spec.get("replicas", 0), status.get("replicas", 0),
            status.get("readyReplicas", 0), _age(obj), names, images, selector or "<none>"]


def daemonset_row(obj: Object) -> list[Any]:
    status = obj.get("status") or {}
    names, images = template_containers(obj)
    node_selector = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "nodeSelector") or {}
    shown = ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or "<none>"
    return [_name(obj), status.get("desiredNumberScheduled", 0),
            status.get("currentNumberScheduled", 0), status.get("numberReady", 0),
            status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0), shown,
            _age(obj), names, images, _selector(obj)]


def revision_row(obj: Object) -> list[Any]:
    owner = next((r for r in (obj.get("metadata") or {}).get("ownerReferences") or []
                  if r.get("controller")), None)
    controller = "<none>"
    if owner is not None:
        group = str(owner.get("apiVersion", "")).rpartition("/")[0]
        kind = str(owner.get("kind", "")).lower() + (f".{group}" if group else "")
        controller = f"{kind}/{owner.get('name')}"
    return [_name(obj), controller, obj.get("revision", 0), _age(obj)]


def cronjob_row(obj: Object) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    names, images = template_containers({"spec": job_spec})
    last = status.get("lastScheduleTime")
    return [_name(obj), spec.get("schedule", ""), spec.get("timeZone") or "<none>",
            "True" if spec.get("suspend") else "False", len(status.get("active") or []),
            age(last) if last else "<none>", _age(obj), names, images,
            _selector({"spec": job_spec}) or "<none>"]
