"""Container lifecycle hooks: postStart after a start, preStop before a stop with a grace period.

Handlers as upstream: `exec` (CRI ExecSync in the container), `httpGet` (from the node to the
pod IP) and `sleep`; a `tcpSocket` handler (in the API for compatibility only) fails with
upstream's "Cannot run handler: invalid handler" (FailedPostStartHook / FailedPreStopHook).
A failed postStart hook kills the container (it restarts per the pod's restartPolicy; its
waiting reason is `PostStartHookError`); a failed preStop hook is an event, and the stop goes
on. Both run within the pod's grace period.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from nodelab.errors import NodelabError
from nodelab.kubelet.pods.probes.probes import run_probe
from nodelab.kubelet.pods.runtime_calls import PodRuntime
from nodelab.kubelet.pods.status import Instance

Recorder = Callable[[Mapping[str, Any], str, str, str], None]  # (pod, reason, message, type)


def invalid_handler(hook: Mapping[str, Any]) -> str:
    """Upstream's message for a handler it cannot run (a `tcpSocket` hook)."""
    return f"Cannot run handler: invalid handler: {json.dumps(hook, sort_keys=True)}"


def grace_period(pod: Mapping[str, Any]) -> int:
    return int((pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))


def run_post_start(runtime: PodRuntime, record: Recorder, pod: Mapping[str, Any],
                   container: Mapping[str, Any], container_id: str,
                   pod_ip: str) -> tuple[bool, str]:
    """Run the postStart hook; (True, "") or (False, why) after killing the container."""
    hook = (container.get("lifecycle") or {}).get("postStart") or {}
    if not hook:
        return True, ""
    grace = grace_period(pod)
    if "exec" in hook:
        command = list(hook["exec"].get("command") or [])
        code, output = runtime.exec_sync(container_id, command, grace)
        ok = code == 0
        message = (f"Exec lifecycle hook ({command}) for Container \"{container['name']}\" in "
                   f"Pod \"{pod['metadata']['name']}\" failed - error: command exited with "
                   f"{code}, message: {output!r}")
    elif "sleep" in hook:  # the container counts as started only after the sleep
        time.sleep(min(float(hook["sleep"].get("seconds", 0)), grace))
        ok, message = True, ""
    elif "httpGet" in hook:
        probe = {"httpGet": hook.get("httpGet") or {}, "timeoutSeconds": grace}
        outcome = run_probe(probe, container, container_id, pod_ip, runtime.exec_sync)
        ok, message = outcome.ok, outcome.message
    else:  # tcpSocket: kept in the API for compatibility, never run (upstream fails the hook)
        ok, message = False, invalid_handler(hook)
    if ok:
        return True, ""
    record(pod, "FailedPostStartHook", message, "Warning")
    runtime.stop_container(container_id, grace)
    return False, message


def run_pre_stop(runtime: PodRuntime, record: Recorder, pod: Mapping[str, Any],
                 instance: Instance, deadline: float) -> None:
    """Run the container's preStop hook until `deadline` (time.monotonic())."""
    specs = list((pod.get("spec") or {}).get("containers") or []) \
        + list((pod.get("spec") or {}).get("initContainers") or [])
    container = next((c for c in specs if c["name"] == instance.name), None)
    hook = ((container or {}).get("lifecycle") or {}).get("preStop") or {}
    left = int(deadline - time.monotonic())
    if not hook or left <= 0:
        return
    try:
        if "exec" in hook:
            runtime.exec_sync(instance.id, list(hook["exec"].get("command") or []), left)
        elif "sleep" in hook:
            time.sleep(min(float(hook["sleep"].get("seconds", 0)), left))
        elif "httpGet" in hook:
            pod_ip = (pod.get("status") or {}).get("podIP") or ""
            run_probe({"httpGet": hook["httpGet"], "timeoutSeconds": left},
                      container or {}, instance.id, pod_ip, runtime.exec_sync)
        else:
            record(pod, "FailedPreStopHook", invalid_handler(hook), "Warning")
    except NodelabError as exc:
        record(pod, "FailedPreStopHook", f"PreStopHook failed: {exc}", "Warning")
