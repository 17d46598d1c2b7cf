"""`/metrics/resource`: the kubelet's resource metrics, as upstream's resource metrics collector.

What metrics-server scrapes (and Prometheus may too), in the Prometheus text format 0.0.4,
rendered from the same samples as `/stats/summary` (upstream's collector reads the Summary
provider's `GetCPUAndMemoryStats`). Families, as `pkg/kubelet/metrics/collectors/
resource_metrics.go` names them:

| family                              | type    | labels                      |
|-------------------------------------|---------|-----------------------------|
| container_cpu_usage_seconds_total   | counter | container, namespace, pod   |
| container_memory_working_set_bytes  | gauge   | container, namespace, pod   |
| container_start_time_seconds        | gauge   | container, namespace, pod   |
| node_cpu_usage_seconds_total        | counter |                             |
| node_memory_working_set_bytes       | gauge   |                             |
| pod_cpu_usage_seconds_total         | counter | namespace, pod              |
| pod_memory_working_set_bytes        | gauge   | namespace, pod              |
| resource_scrape_error               | gauge   |                             |

Usage samples carry their measurement time in milliseconds, as upstream's
`NewLazyMetricWithTimestamp` does: metrics-server computes CPU rates from the windows between
those times. Families are sorted by name, samples by label values, numbers printed as Go's
`strconv.FormatFloat(v, 'g', -1, 64)` (what client_golang's text encoder writes), so the
output reads as a real kubelet's. `scrape_error` was deprecated in 1.29 and is hidden from
1.30 on (component-base hides a deprecated metric one minor release later); the `*_swap_*`
families have no samples on lab nodes (no swap accounting), and a family without samples is
not written, as the Prometheus registry drops it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from nodelab.kubelet.stats.summary import (
    ContainerSample,
    NodeSample,
    PodSample,
    group_by_pod,
)

_FAMILIES: dict[str, tuple[str, str]] = {
    # name: (type, help); all STABLE
    "container_cpu_usage_seconds_total": (
        "counter", "Cumulative cpu time consumed by the container in core-seconds"),
    "container_memory_working_set_bytes": (
        "gauge", "Current working set of the container in bytes"),
    "container_start_time_seconds": (
        "gauge", "Start time of the container since unix epoch in seconds"),
    "node_cpu_usage_seconds_total": (
        "counter", "Cumulative cpu time consumed by the node in core-seconds"),
    "node_memory_working_set_bytes": ("gauge", "Current working set of the node in bytes"),
    "pod_cpu_usage_seconds_total": (
        "counter", "Cumulative cpu time consumed by the pod in core-seconds"),
    "pod_memory_working_set_bytes": ("gauge", "Current working set of the pod in bytes"),
    "resource_scrape_error": (
        "gauge", "1 if there was an error while getting container metrics, 0 otherwise"),
}


@dataclass(frozen=True)
class Sample:
    family: str
    labels: tuple[tuple[str, str], ...]
    value: float
    at_ms: int | None = None


def go_float(value: float) -> str:
    """`value` as Go's FormatFloat(v, 'g', -1, 64): shortest digits, %e from 1e+06 up."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    sign, digits_tuple, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digits_tuple))
    point = len(digits) + exponent  # digits before the decimal point
    exp = point - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return prefix + digits + "0" * (point - len(digits))
    return f"{prefix}{digits[:point]}.{digits[point:]}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def samples(node: NodeSample | None, pods: Sequence[PodSample],
            containers: Sequence[ContainerSample]) -> list[Sample]:
    """The samples of every family, from what `/stats/summary` is built of."""
    found: list[Sample] = []
    if node is not None:
        at = node.at_ns // 1_000_000
        if node.cpu_core_nanoseconds is not None:
            found.append(Sample("node_cpu_usage_seconds_total", (),
                                node.cpu_core_nanoseconds / 1e9, at))
        if node.memory.working_set is not None:
            found.append(Sample("node_memory_working_set_bytes", (),
                                float(node.memory.working_set), at))
    for c in containers:
        labels: tuple[tuple[str, str], ...] = (
            ("container", c.name), ("namespace", c.pod_namespace), ("pod", c.pod_name))
        at = c.at_ns // 1_000_000
        if c.start_ns > 0:
            found.append(Sample("container_start_time_seconds", labels, c.start_ns / 1e9))
        found.append(Sample("container_cpu_usage_seconds_total", labels,
                            c.cpu_core_nanoseconds / 1e9, at))
        if c.memory.working_set is not None:
            found.append(Sample("container_memory_working_set_bytes", labels,
                                float(c.memory.working_set), at))
    for pod, mine in group_by_pod(pods, containers):
        labels = (("namespace", pod.namespace), ("pod", pod.name))
        at = pod.at_ns // 1_000_000
        cpu = pod.cpu_core_nanoseconds
        if cpu is None and mine:
            cpu = sum(c.cpu_core_nanoseconds for c in mine)
        if cpu is not None:
            found.append(Sample("pod_cpu_usage_seconds_total", labels, cpu / 1e9, at))
        memory = pod.memory.working_set if pod.memory is not None else None
        if memory is None and mine and all(c.memory.working_set is not None for c in mine):
            memory = sum(c.memory.working_set or 0 for c in mine)
        if memory is not None:
            found.append(Sample("pod_memory_working_set_bytes", labels, float(memory), at))
    return found


def render(found: Sequence[Sample], scrape_error: bool) -> str:
    """The Prometheus text of `found` plus `resource_scrape_error`."""
    everything = [*found, Sample("resource_scrape_error", (), 1.0 if scrape_error else 0.0)]
    lines: list[str] = []
    for family in sorted({s.family for s in everything}):
        kind, text = _FAMILIES[family]
        lines += [f"# HELP {family} [STABLE] {text}", f"# TYPE {family} {kind}"]
        for s in sorted((s for s in everything if s.family == family),
                        key=lambda s: [v for _, v in s.labels]):
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in s.labels)
            line = family + (f"{{{labels}}}" if labels else "") + " " + go_float(s.value)
            lines.append(line + (f" {s.at_ms}" if s.at_ms is not None else ""))
    return "\n".join(lines) + "\n"
