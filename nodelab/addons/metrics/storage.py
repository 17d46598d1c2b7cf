"""The last two points of every node and container, and the usage between them, as
metrics-server's storage (`pkg/storage`).

`Store.store(batch)` moves each stored point to `prev` when the new one is later; a container
that restarted (start time after the stored point) starts again from nothing. A container
younger than the metric resolution (but at least 10 s old) gets its start as the previous
point, with no CPU used, so a new pod has metrics after one scrape. `usage(last, prev)` is
CPU = used ns / window s (nanocores), memory = the last working set, timestamp = the last
point's time, window = the time between the two; a pod's timestamp and window are its
earliest container's. A node or pod is listed only when it has both points (`ready` once
there is any node and any pod that has).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from nodelab.addons.metrics.decode import Batch, PodKey, Point

FRESH_CONTAINER_MIN_NS = 10 * 10**9


class UsageError(ValueError):
    """Two points that cannot give a usage (a decrease)."""


@dataclass(frozen=True)
class Usage:
    cpu_nanocores: int
    memory: int
    at_ns: int
    window_ns: int


def usage(last: Point, prev: Point) -> Usage:
    if last.start_ns < prev.start_ns:
        raise UsageError("unexpected decrease in startTime of node/container")
    if last.cpu_ns < prev.cpu_ns:
        raise UsageError("unexpected decrease in cumulative CPU usage value")
    window = last.at_ns - prev.at_ns
    if window <= 0:
        raise UsageError("no time between the two points")
    return Usage((last.cpu_ns - prev.cpu_ns) * 10**9 // window, last.memory, last.at_ns,
                 window)


def _node_prev(new: Point, last: Point | None, prev: Point | None) -> Point | None:
    if last is None:
        return None
    if new.at_ns > last.at_ns:
        return last
    if prev is not None and prev.at_ns < new.at_ns:
        return prev
    return None


def _container_prev(new: Point, last: Point | None, prev: Point | None,
                    resolution_ns: int) -> Point | None:
    age = new.at_ns - new.start_ns
    if new.start_ns < new.at_ns and FRESH_CONTAINER_MIN_NS <= age < resolution_ns:
        return replace(new, at_ns=new.start_ns, cpu_ns=0)
    if last is None or not new.start_ns < last.at_ns:
        return None  # unknown, or restarted since the stored point
    if new.at_ns > last.at_ns:
        return last
    if prev is not None and prev.at_ns < new.at_ns:
        return prev
    return None


class Storage:
    def __init__(self, resolution_ns: int) -> None:
        self.resolution_ns = resolution_ns
        self.nodes_last: dict[str, Point] = {}
        self.nodes_prev: dict[str, Point] = {}
        self.pods_last: dict[PodKey, dict[str, Point]] = {}
        self.pods_prev: dict[PodKey, dict[str, Point]] = {}
        self._lock = threading.Lock()

    def store(self, batch: Batch) -> None:
        with self._lock:
            nodes_prev = {}
            for name, point in batch.nodes.items():
                found = _node_prev(point, self.nodes_last.get(name), self.nodes_prev.get(name))
                if found is not None:
                    nodes_prev[name] = found
            pods_prev: dict[PodKey, dict[str, Point]] = {}
            for key, containers in batch.pods.items():
                previous = {}
                for container, point in containers.items():
                    found = _container_prev(point, self.pods_last.get(key, {}).get(container),
                                            self.pods_prev.get(key, {}).get(container),
                                            self.resolution_ns)
                    if found is not None:
                        previous[container] = found
                if previous:
                    pods_prev[key] = previous
            self.nodes_last, self.nodes_prev = dict(batch.nodes), nodes_prev
            self.pods_last, self.pods_prev = dict(batch.pods), pods_prev

    def ready(self) -> bool:
        with self._lock:
            return bool(self.nodes_prev) and bool(self.pods_prev)

    def node(self, name: str) -> Usage | None:
        with self._lock:
            last, prev = self.nodes_last.get(name), self.nodes_prev.get(name)
        if last is None or prev is None:
            return None
        try:
            return usage(last, prev)
        except UsageError:
            return None

    def pod(self, key: PodKey) -> tuple[Usage, dict[str, Usage]] | None:
        """(the pod's timestamp and window, each container's usage), when every container
        has two points."""
        with self._lock:
            last, prev = self.pods_last.get(key), self.pods_prev.get(key)
        if not last or prev is None or any(name not in prev for name in last):
            return None
        containers = {}
        for name, point in last.items():
            try:
                containers[name] = usage(point, prev[name])
            except UsageError:
                continue
        if not containers:
            return None
        earliest = min(containers.values(), key=lambda u: u.at_ns)
        return earliest, containers
