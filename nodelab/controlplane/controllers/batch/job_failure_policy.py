"""A Job's `podFailurePolicy`: which rule a failed pod matches, and what it means
(upstream's pkg/controller/job/pod_failure_policy.go).

Rules are tried in order; the first that matches decides:
- `FailJob`: the Job fails at once (reason `PodFailurePolicy`), its other pods are deleted;
- `Ignore`: the failure is not counted against `backoffLimit` and the pod is replaced;
- `Count`: counted as usual.
A rule matches on `onExitCodes` (a container, or any, terminated with a non-zero exit code
that is `In`/`NotIn` the values) or on `onPodConditions` (the pod has a condition of that
type and status, e.g. `DisruptionTarget`). No rule matching counts the failure as usual.
(`FailIndex` needs `backoffLimitPerIndex`, which nodelab refuses at validation.)
"""

from __future__ import annotations

from dataclasses import dataclass

from nodelab.kube.objects import ObjectView


@dataclass(frozen=True)
class Match:
    action: str  # FailJob, Ignore, Count
    message: str


def _exit_code_match(rule: ObjectView, pod: ObjectView) -> tuple[str, int] | None:
    requirement = rule.get("onExitCodes") or {}
    operator = requirement.get("operator")
    values = set(requirement.get("values") or [])
    only = requirement.get("containerName")
    status = pod.get("status") or {}
    for container in (status.get("initContainerStatuses") or []) + (
            status.get("containerStatuses") or []):
        if only and container.get("name") != only:
            continue
        terminated = (container.get("state") or {}).get("terminated") or {}
        code = terminated.get("exitCode")
        if not terminated or code in (None, 0):
            continue
        if (operator == "In" and code in values) or (operator == "NotIn" and code not in values):
            return str(container.get("name")), int(code)
    return None


def _condition_match(rule: ObjectView, pod: ObjectView) -> str | None:
    conditions = (pod.get("status") or {}).get("conditions") or []
    for pattern in rule.get("onPodConditions") or []:
        wanted = pattern.get("status") or "True"
        for condition in conditions:
            if condition.get("type") == pattern.get("type") and condition.get(
                    "status") == wanted:
                return str(pattern.get("type"))
    return None


def match_failure_policy(policy: ObjectView | None, pod: ObjectView) -> Match | None:
    if not policy:
        return None
    metadata = pod.get("metadata") or {}
    who = f"{metadata.get('namespace')}/{metadata.get('name')}"
    for index, rule in enumerate(policy.get("rules") or []):
        action = str(rule.get("action"))
        if rule.get("onExitCodes"):
            found = _exit_code_match(rule, pod)
            if found is not None:
                name, code = found
                return Match(action, f"Container {name} for pod {who} failed with exit code "
                                     f"{code} matching {action} rule at index {index}")
        elif rule.get("onPodConditions"):
            condition = _condition_match(rule, pod)
            if condition is not None:
                return Match(action, f"Pod {who} has condition {condition} matching {action} "
                                     f"rule at index {index}")
    return None
