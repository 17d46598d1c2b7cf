"""A kubelet's `/metrics/resource` to a batch of metric points, as metrics-server's decoder.

Read are `node_cpu_usage_seconds_total`, `node_memory_working_set_bytes`,
`container_cpu_usage_seconds_total`, `container_memory_working_set_bytes` and
`container_start_time_seconds`; every other family is skipped. A sample's time is its
Prometheus timestamp (milliseconds), else the time of the scrape. As upstream: the node's
point is dropped unless it has a time, CPU and memory (all non-zero); a pod is dropped if any
of its containers lacks CPU or memory; CPU seconds become nanoseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

CPU_NODE = "node_cpu_usage_seconds_total"
MEMORY_NODE = "node_memory_working_set_bytes"
CPU_CONTAINER = "container_cpu_usage_seconds_total"
MEMORY_CONTAINER = "container_memory_working_set_bytes"
START_CONTAINER = "container_start_time_seconds"


class DecodeError(ValueError):
    """The text is not the Prometheus text format."""


@dataclass(frozen=True)
class Point:
    """One measurement (times in Unix nanoseconds, CPU in core-nanoseconds since start)."""

    start_ns: int = 0
    at_ns: int = 0
    cpu_ns: int = 0
    memory: int = 0


PodKey = tuple[str, str]  # (namespace, name)


@dataclass
class Batch:
    nodes: dict[str, Point] = field(default_factory=dict)
    pods: dict[PodKey, dict[str, Point]] = field(default_factory=dict)


def _labels(text: str) -> dict[str, str]:
    """`a="x",b="y\\"z"` to a dict (Prometheus escapes: backslash, quote, newline)."""
    found: dict[str, str] = {}
    i = 0
    while i < len(text):
        equals = text.find("=", i)
        if equals < 0 or equals + 1 >= len(text) or text[equals + 1] != '"':
            raise DecodeError(f"bad label set {{{text}}}")
        name = text[i:equals].strip().lstrip(",").strip()
        j, value = equals + 2, []
        while j < len(text) and text[j] != '"':
            if text[j] == "\\" and j + 1 < len(text):
                value.append({"n": "\n"}.get(text[j + 1], text[j + 1]))
                j += 2
                continue
            value.append(text[j])
            j += 1
        if j >= len(text):
            raise DecodeError(f"unterminated label value in {{{text}}}")
        found[name] = "".join(value)
        i = j + 1
        while i < len(text) and text[i] in ", ":
            i += 1
    return found


def parse_line(line: str) -> tuple[str, dict[str, str], float, int | None]:
    """(family, labels, value, timestamp ms or None) of one sample line."""
    labels: dict[str, str] = {}
    brace, space = line.find("{"), line.find(" ")
    if brace != -1 and (space == -1 or brace < space):
        name, _, rest = line.partition("{")
        inside, closing, rest = rest.rpartition("}")
        if not closing:
            raise DecodeError(f"unterminated label set: {line!r}")
        labels = _labels(inside)
    else:
        name, _, rest = line.partition(" ")
    fields = rest.split()
    if not 1 <= len(fields) <= 2:
        raise DecodeError(f"a sample needs a value and at most a timestamp: {line!r}")
    try:
        value = float(fields[0].replace("Inf", "inf"))
        stamp = int(fields[1]) if len(fields) == 2 else None
    except ValueError as exc:
        raise DecodeError(f"bad number in {line!r}") from exc
    return name.strip(), labels, value, stamp


def decode(text: str, scraped_ns: int, node_name: str) -> Batch:
    batch = Batch()
    node = Point()
    pods: dict[PodKey, dict[str, Point]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        family, labels, value, stamp = parse_line(line)
        at = stamp * 1_000_000 if stamp is not None else scraped_ns
        if math.isnan(value) or math.isinf(value):
            continue
        if family == CPU_NODE:
            node = replace(node, cpu_ns=int(value * 1e9), at_ns=at)
        elif family == MEMORY_NODE:
            node = replace(node, memory=int(value), at_ns=at)
        elif family in (CPU_CONTAINER, MEMORY_CONTAINER, START_CONTAINER):
            key = (labels.get("namespace", ""), labels.get("pod", ""))
            containers = pods.setdefault(key, {})
            name = labels.get("container", "")
            point = containers.get(name, Point())
            if family == CPU_CONTAINER:
                point = replace(point, cpu_ns=int(value * 1e9), at_ns=at)
            elif family == MEMORY_CONTAINER:
                point = replace(point, memory=int(value), at_ns=at)
            else:
                point = replace(point, start_ns=int(value * 1e9))
            containers[name] = point
    if node.at_ns and node.cpu_ns and node.memory:
        batch.nodes[node_name] = node
    for key, containers in pods.items():
        complete = {name: p for name, p in containers.items() if p != Point()}
        if complete and all(p.cpu_ns and p.memory for p in complete.values()):
            batch.pods[key] = complete
    return batch
