"""A pod's STATUS and READINESS GATES columns in `kubectl get pods`, as upstream's printPod
(pkg/printers/internalversion/printers.go) writes them: the cells that read the pod's
containers, init containers and deletion rather than one field.
"""

from __future__ import annotations

from nodelab.kube.objects import Object


def _init_status(pod: Object) -> str | None:
    """`Init:1/2`, `Init:CrashLoopBackOff`, ... while init containers have not all finished."""
    statuses = (pod.get("status") or {}).get("initContainerStatuses") or []
    total = len((pod.get("spec") or {}).get("initContainers") or [])
    for index, container in enumerate(statuses):
        state = container.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and terminated.get("exitCode") == 0:
            continue
        if terminated:
            reason = terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}"
            return f"Init:{reason}"
        if waiting and waiting.get("reason") not in (None, "", "PodInitializing"):
            return f"Init:{waiting['reason']}"
        return f"Init:{index}/{total}"
    return None


def pod_status(pod: Object) -> str:
    """The STATUS column of `kubectl get pods`: the pod's reason or phase, an init container's
    progress, the last container's waiting or terminated reason, or `Terminating`."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    initializing = _init_status(pod)
    if initializing is not None:
        return "Terminating" if (pod.get("metadata") or {}).get(
            "deletionTimestamp") else initializing
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    return str(reason)


def readiness_gates(gates: list[Object], conditions: list[Object]) -> str:
    """`true/total` of the pod's readiness gates, as upstream's printer counts them."""
    if not gates:
        return "<none>"
    true = {c.get("type") for c in conditions if c.get("status") == "True"}
    return f"{sum(1 for g in gates if g.get('conditionType') in true)}/{len(gates)}"
