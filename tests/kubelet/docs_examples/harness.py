"""What the docs-example tests do with a lab: wait for a pod the way the pages do (`kubectl
get pod` until Running and ready, or until it ran to the end), read its logs, exec in it.
All through real kubectl."""

from __future__ import annotations

import subprocess
from typing import Any

from nodelab.lab.lab import Lab
from tests.lab.kube import KUBECTL, eventually, kubectl, kubectl_json


def apply(lab: Lab, manifest: str) -> None:
    kubectl(lab, "apply", "-f", "-", input=manifest)


def pod(lab: Lab, name: str, namespace: str = "default") -> dict[str, Any]:
    found: dict[str, Any] = kubectl_json(lab, "get", "pod", name, "-n", namespace)
    return found


def described(lab: Lab, name: str, namespace: str = "default") -> str:
    return kubectl(lab, "describe", "pod", name, "-n", namespace, check=False)


def ready(lab: Lab, name: str, namespace: str = "default", timeout: float = 90) -> None:
    """Wait until every container of the pod is ready (`kubectl wait --for=condition=Ready`)."""
    done = kubectl(lab, "wait", "--for=condition=Ready", f"pod/{name}", "-n", namespace,
                   f"--timeout={int(timeout)}s", check=False)
    if "condition met" not in done:
        raise AssertionError(f"pod {namespace}/{name} not Ready after {timeout}s:\n"
                             f"{described(lab, name, namespace)}")


def finished(lab: Lab, name: str, namespace: str = "default") -> str:
    """The pod's logs once it Succeeded (fails the test if it Failed)."""
    def phase() -> str:
        return str(pod(lab, name, namespace)["status"].get("phase", ""))
    try:
        done = eventually(lambda: phase() in ("Succeeded", "Failed") and phase(), timeout=90)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{described(lab, name, namespace)}") from None
    logs = kubectl(lab, "logs", name, "-n", namespace)
    assert done == "Succeeded", f"pod {namespace}/{name} {done}: {logs}"
    return logs


def logs_showing(lab: Lab, name: str, text: str, namespace: str = "default",
                 timeout: float = 90) -> str:
    """The logs of a pod that keeps printing, once they contain `text`."""
    def logs() -> str:
        return kubectl(lab, "logs", name, "-n", namespace, check=False)
    try:
        found: str = eventually(lambda: text in logs() and logs(), timeout=timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{described(lab, name, namespace)}") from None
    return found


def exec_in(lab: Lab, name: str, *argv: str, container: str | None = None,
            namespace: str = "default") -> str:
    which = ["-c", container] if container else []
    return kubectl(lab, "exec", name, "-n", namespace, *which, "--", *argv)


def events(lab: Lab, name: str, reason: str, namespace: str = "default") -> list[str]:
    found = kubectl_json(lab, "get", "events", "-n", namespace, "--field-selector",
                         f"involvedObject.name={name},reason={reason}")["items"]
    return [str(e["message"]) for e in found]


def refused(lab: Lab, manifest: str) -> str:
    """`kubectl apply` of a manifest the API server must refuse: its error text."""
    result = subprocess.run([KUBECTL, "--kubeconfig", str(lab.kubeconfig), "apply", "-f", "-"],
                            input=manifest, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0, f"accepted: {result.stdout}"
    return result.stderr


def scheduling_failure(lab: Lab, name: str, namespace: str = "default") -> str:
    """The first FailedScheduling event's message of a pod the scheduler cannot place."""
    found: list[str] = eventually(lambda: events(lab, name, "FailedScheduling", namespace),
                                  timeout=60)
    return found[0]
