"""Startup, liveness and readiness probes, with upstream's timing and thresholds.

Handlers: `exec` (CRI ExecSync in the container), `httpGet` (from the node to the pod IP,
`User-Agent: kube-probe/<major>.<minor>`, success 200..399), `tcpSocket` (a connection opens)
and `grpc` (grpc.health.v1 Health/Check answers SERVING). Timing fields default as upstream:
initialDelaySeconds 0, timeoutSeconds 1, periodSeconds 10, successThreshold 1,
failureThreshold 3. `ProbeTracker` keeps each probe's consecutive results and says when a
probe is due; the worker acts on the outcome (readiness -> Ready, liveness/startup failure ->
restart).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from nodelab.kube.objects import ObjectView
from nodelab.kubelet.node.node_object import KUBELET_VERSION

USER_AGENT = "kube-probe/" + ".".join(KUBELET_VERSION.lstrip("v").split(".")[:2])
ExecSync = Callable[[str, list[str], int], tuple[int, str]]  # (container, cmd, timeout)
MAX_EXEC_OUTPUT = 10 * 1024  # upstream's pkg/probe/exec maxReadLength


@dataclass
class ProbeOutcome:
    ok: bool
    message: str = ""


def timing(probe: ObjectView) -> tuple[float, float, float, int, int]:
    """(initialDelay, timeout, period, successThreshold, failureThreshold)."""
    return (float(probe.get("initialDelaySeconds", 0)), float(probe.get("timeoutSeconds", 1)),
            float(probe.get("periodSeconds", 10)), int(probe.get("successThreshold", 1)),
            int(probe.get("failureThreshold", 3)))


def resolve_port(port: Any, container: ObjectView) -> int:
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise ValueError(f"named port {port!r} is not declared by the container")


def _grpc_check(host: str, port: int, service: str, timeout: float) -> ProbeOutcome:
    encoded = service.encode()
    request = (b"\x0a" + bytes([len(encoded)]) + encoded) if encoded else b""
    with grpc.insecure_channel(f"{host}:{port}") as channel:
        call = channel.unary_unary("/grpc.health.v1.Health/Check",
                                   request_serializer=lambda b: b,
                                   response_deserializer=lambda b: b)
        try:
            answer: bytes = call(request, timeout=timeout)
        except grpc.RpcError as exc:
            return ProbeOutcome(False, f"rpc error: {exc.code().name}")
    status = answer[1] if len(answer) >= 2 and answer[0] == 0x08 else 0
    names = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
    if status == 1:
        return ProbeOutcome(True)
    return ProbeOutcome(False, f"service unhealthy (responded with \"{names.get(status)}\")")


def run_probe(probe: ObjectView, container: ObjectView, container_id: str, pod_ip: str,
              exec_sync: ExecSync) -> ProbeOutcome:
    _, timeout, _, _, _ = timing(probe)
    try:
        if "exec" in probe:
            command = list(probe["exec"].get("command") or [])
            code, output = exec_sync(container_id, command, int(max(timeout, 1)))
            if code == 0:
                return ProbeOutcome(True)
            # upstream's exec prober: a failure's message is the command's output, as is
            # (at most 10 KiB), so the event reads `Liveness probe failed: <output>`
            return ProbeOutcome(False, output[:MAX_EXEC_OUTPUT])
        if "httpGet" in probe:
            get = probe["httpGet"]
            host = get.get("host") or pod_ip
            port = resolve_port(get.get("port"), container)
            path = get.get("path") or "/"
            if get.get("scheme", "HTTP").upper() == "HTTPS":
                connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                    host, port, timeout=timeout, context=ssl._create_unverified_context())
            else:
                connection = http.client.HTTPConnection(host, port, timeout=timeout)
            headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
            headers |= {h["name"]: h["value"] for h in get.get("httpHeaders") or []}
            try:
                connection.request("GET", path, headers=headers)
                code = connection.getresponse().status
            finally:
                connection.close()
            if 200 <= code < 400:
                return ProbeOutcome(True)
            return ProbeOutcome(False, f"HTTP probe failed with statuscode: {code}")
        if "tcpSocket" in probe:
            sock_spec = probe["tcpSocket"]
            port = resolve_port(sock_spec.get("port"), container)
            with socket.create_connection((sock_spec.get("host") or pod_ip, port),
                                          timeout=timeout):
                return ProbeOutcome(True)
        if "grpc" in probe:
            spec = probe["grpc"]
            return _grpc_check(pod_ip, int(spec["port"]), spec.get("service") or "", timeout)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        kind = "HTTP" if "httpGet" in probe else "TCP" if "tcpSocket" in probe else "Probe"
        return ProbeOutcome(False, f"{kind} probe failed: {exc}")
    return ProbeOutcome(False, "probe has no handler")


@dataclass
class ProbeState:
    successes: int = 0
    failures: int = 0
    result: bool | None = None  # None until the thresholds decide
    last_run: float = 0.0
    last_message: str = ""
    history: list[tuple[float, bool]] = field(default_factory=list)


class ProbeTracker:
    """Consecutive results of one probe of one container instance."""

    def __init__(self, kind: str, probe: ObjectView, started: float) -> None:
        self.kind = kind
        self.probe = probe
        self.started = started
        self.state = ProbeState(result=None)

    def due(self, now: float) -> bool:
        delay, _, period, _, _ = timing(self.probe)
        if now < self.started + delay:
            return False
        return self.state.last_run == 0.0 or now >= self.state.last_run + period

    def record(self, outcome: ProbeOutcome, now: float) -> bool | None:
        """Count one result; returns the probe's (possibly new) result."""
        _, _, _, success_threshold, failure_threshold = timing(self.probe)
        state = self.state
        state.last_run = now
        state.last_message = outcome.message
        state.history = [*state.history[-59:], (time.time(), outcome.ok)]
        if outcome.ok:
            state.successes += 1
            state.failures = 0
            if state.successes >= success_threshold:
                state.result = True
        else:
            state.failures += 1
            state.successes = 0
            if state.failures >= failure_threshold:
                state.result = False
        return state.result
