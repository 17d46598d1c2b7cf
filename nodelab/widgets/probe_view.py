"""`ProbeView`: probe results over time per container, with their thresholds and restarts.

What a probe is configured to do lives in the pod spec (`livenessProbe`, `readinessProbe`,
`startupProbe`: handler, `initialDelaySeconds`, `periodSeconds`, `timeoutSeconds`,
`successThreshold`, `failureThreshold`); what it found reaches the API in three ways, which
the view reads through an `ObjectSource`:

- the container status: `ready` (readiness), `started` (startup), `restartCount` (liveness
  failures past the threshold restart the container);
- Events on the pod: `Unhealthy` ("Liveness probe failed: ...", counted by `count`) and
  `Killing` ("Container app failed liveness probe, will be restarted");
- optionally, results straight from a prober (`ProbeResult`s from `results`), when the
  kubelet exposes them; each one is a point on the chart.

While it runs the view records, per container, when `ready` flipped, when `restartCount` went
up and when a probe failure was reported, and draws them on one time axis: readiness as a
0/1 line, restarts and failures as markers. With `failureThreshold` 3 and `periodSeconds` 5,
a learner sees three failure marks about 5 s apart, then the restart mark.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nodelab.kube.objects import Object
from nodelab.widgets import markup
from nodelab.widgets.kube_objects import ObjectSource, lab_objects
from nodelab.widgets.live import Alive, LiveView, until_lab_down
from nodelab.widgets.plots import Chart, Marker, Series, line_chart
from nodelab.widgets.pod_lifecycle_view import PodSnapshot, pod_source

PROBES = (("startupProbe", "startup"), ("livenessProbe", "liveness"),
          ("readinessProbe", "readiness"))


@dataclass(frozen=True)
class ProbeResult:
    """One probe run, as a prober reports it."""

    container: str
    probe: str
    """`liveness`, `readiness` or `startup`"""
    at: float
    """time.time() of the run"""
    success: bool
    output: str = ""


@dataclass(frozen=True)
class ProbeSnapshot:
    pod: PodSnapshot
    results: tuple[ProbeResult, ...] = ()


def handler_text(probe: dict[str, Any]) -> str:
    if "httpGet" in probe:
        get = probe["httpGet"]
        return f"GET {get.get('scheme', 'HTTP').lower()}://:{get.get('port')}{get.get('path', '/')}"
    if "tcpSocket" in probe:
        return f"TCP :{probe['tcpSocket'].get('port')}"
    if "exec" in probe:
        return "exec " + " ".join(probe["exec"].get("command") or [])
    if "grpc" in probe:
        return f"gRPC :{probe['grpc'].get('port')}"
    return "?"


def probe_rows(container: dict[str, Any]) -> list[list[str]]:
    rows = []
    for field, kind in PROBES:
        probe = container.get(field)
        if probe:
            rows.append([kind, handler_text(probe),
                         f"{probe.get('initialDelaySeconds', 0)}s",
                         f"{probe.get('periodSeconds', 10)}s",
                         f"{probe.get('timeoutSeconds', 1)}s",
                         str(probe.get("successThreshold", 1)),
                         str(probe.get("failureThreshold", 3))])
    return rows


def _failure_counts(events: tuple[Object, ...]) -> dict[tuple[str, str], int]:
    """{(container or '', probe kind): failures reported} from Unhealthy events (pure)."""
    counts: dict[tuple[str, str], int] = {}
    for event in events:
        if event.get("reason") != "Unhealthy":
            continue
        message = str(event.get("message", ""))
        kind = message.split(" ", 1)[0].lower()
        path = str((event.get("involvedObject") or {}).get("fieldPath", ""))
        container = path.split("{", 1)[-1].rstrip("}") if "{" in path else ""
        counts[(container, kind)] = counts.get((container, kind), 0) + int(event.get("count", 1))
    return counts


class ProbeView(LiveView[ProbeSnapshot]):
    title = "probes"

    def __init__(
        self,
        objects: ObjectSource,
        name: str,
        namespace: str = "default",
        *,
        results: Callable[[], Sequence[ProbeResult]] | None = None,
        interval: float = 1.0,
        alive: Alive | None = None,
        title: str | None = None,
    ) -> None:
        read_pod = pod_source(objects, namespace, name)

        def read() -> ProbeSnapshot:
            return ProbeSnapshot(read_pod(), tuple(results()) if results else ())

        super().__init__(read, interval=interval, alive=alive,
                         title=title or f"probes of {namespace}/{name}")
        self.ready: dict[str, list[tuple[float, bool]]] = {}
        self.restarts: dict[str, list[tuple[float, int]]] = {}
        self.failures: list[tuple[float, str, str]] = []
        """(time, container, probe kind) of each failure the view learnt of."""
        self._failure_counts: dict[tuple[str, str], int] | None = None

    @classmethod
    def for_lab(cls, lab: Any, name: str, namespace: str = "default", **kwargs: Any) -> ProbeView:
        """This view on the API server of `lab` (a `nodelab.lab.Lab`); stops when it goes down."""
        kwargs.setdefault("alive", until_lab_down(lab))
        return cls(lab_objects(lab), name, namespace, **kwargs)

    def observe(self, snapshot: ProbeSnapshot) -> None:
        now = time.time()
        status = ((snapshot.pod.pod or {}).get("status") or {})
        for container in status.get("containerStatuses") or []:
            name = str(container.get("name"))
            ready = bool(container.get("ready"))
            seen = self.ready.setdefault(name, [])
            if not seen or seen[-1][1] != ready:
                seen.append((now, ready))
            count = int(container.get("restartCount", 0))
            restarts = self.restarts.setdefault(name, [])
            if not restarts or restarts[-1][1] != count:
                restarts.append((now, count))
        counts = _failure_counts(snapshot.pod.events)
        if self._failure_counts is not None:
            for key, total in counts.items():
                for _ in range(total - self._failure_counts.get(key, 0)):
                    self.failures.append((now, key[0], key[1]))
        self._failure_counts = counts

    def render_text(self, snapshot: ProbeSnapshot) -> str:
        lines = [f"{self.title}:"]
        for name, restarts in self.restarts.items():
            ready = self.ready.get(name, [(0.0, False)])[-1][1]
            lines.append(f"  {name}: ready={ready} restarts={restarts[-1][1]}")
        return "\n".join(lines)

    def render_html(self, snapshot: ProbeSnapshot) -> str:
        pod = snapshot.pod.pod
        if pod is None:
            return markup.block(markup.note("the pod does not exist"), title=self.title)
        spec = pod.get("spec") or {}
        parts = []
        start = min([t for seen in self.ready.values() for t, _ in seen] or [time.time()])
        for container in spec.get("containers") or []:
            name = str(container.get("name"))
            statuses = (pod.get("status") or {}).get("containerStatuses") or []
            status: dict[str, Any] = next((c for c in statuses if c.get("name") == name), {})
            parts.append(markup.heading(
                f"container {name}",
                f"ready={status.get('ready', False)} started={status.get('started', '-')} "
                f"restarts={status.get('restartCount', 0)}"))
            rows = probe_rows(container)
            if not rows:
                parts.append(markup.note("no probes: the kubelet takes a running container as "
                                         "healthy and ready"))
                continue
            parts.append(markup.table(["probe", "handler", "delay", "period", "timeout",
                                       "success", "failure threshold"], rows))
            ready = self.ready.get(name, [])
            points: list[tuple[float, float]] = []
            for t, value in ready:
                if points:
                    points.append((t - start, points[-1][1]))
                points.append((t - start, 1.0 if value else 0.0))
            if points:
                points.append((time.time() - start, points[-1][1]))
            markers = [Marker(t - start, "restart", markup.BAD)
                       for t, _n in self.restarts.get(name, [])[1:]]
            markers += [Marker(t - start, f"{kind} ✗", markup.WARN)
                        for t, who, kind in self.failures if who in ("", name)]
            markers += [Marker(r.at - start, f"{r.probe} {'✓' if r.success else '✗'}",
                               markup.OK if r.success else markup.WARN)
                        for r in snapshot.results if r.container == name]
            parts.append(line_chart(Chart("ready over time", [Series("ready", markup.OK,
                                                                     points)],
                                          markers=markers, height=110)))
        return markup.block(*parts, title=self.title)
