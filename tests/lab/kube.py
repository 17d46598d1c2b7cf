"""Helpers for tests that drive a lab with real kubectl, and the shared one-node lab."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

from nodelab.lab.lab import Lab

KUBECTL = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", ".venv",
                       "bin", "kubectl")


def kubectl(lab: Lab, *args: str, input: str | None = None, check: bool = True) -> str:
    result = subprocess.run([KUBECTL, "--kubeconfig", str(lab.kubeconfig), *args], input=input,
                            capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr}")
    return result.stdout


def kubectl_json(lab: Lab, *args: str) -> Any:
    return json.loads(kubectl(lab, *args, "-o", "json"))


def eventually(check: Callable[[], Any], timeout: float = 60.0, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"not true after {timeout}s (last: {last!r})")


def in_node(lab: Lab, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", lab.topology.nodes[0].netns, *argv],
                          capture_output=True, text=True, timeout=30)


def ready_pods(lab: Lab, selector: str) -> list[dict[str, Any]]:
    pods = kubectl_json(lab, "get", "pods", "-l", selector)["items"]
    return [p for p in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                   for c in p["status"].get("conditions") or [])]
