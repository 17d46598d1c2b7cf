"""`CgroupView`: memory use vs limit, CPU use vs quota and throttling per container, live.

The source reads `CgroupStats` (see `nodelab.host.cgroup_stats`) for each named cgroup path,
e.g. `{"app": "nodelab/a/kubepods/pod-uid/app"}`; the view turns consecutive readings into
*samples* (CPU time differences become cores used, throttled-period differences the fraction of
CFS periods throttled) and keeps the last `window` of them. Its static form is, per container,
a line of numbers and two small SVG charts: memory against the limit line, CPU cores against
the quota line with the throttled fraction; each OOM kill (the `oom_kill` counter going up) is
a red marker. These are the numbers the kubelet's resource limits turn into (docs/cgroups in
the course) and what `kubectl top` would summarise.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nodelab.errors import NodelabError
from nodelab.host.cgroup_stats import CgroupStats, read_cgroup_stats
from nodelab.widgets import markup
from nodelab.widgets.kube_objects import lab_objects
from nodelab.widgets.live import Alive, LiveView, until_lab_down
from nodelab.widgets.plots import Chart, Marker, Series, line_chart
from nodelab.widgets.pod_locator import find_pod, pod_cgroups

CgroupSnapshot = tuple[tuple[str, CgroupStats], ...]


@dataclass(frozen=True)
class Sample:
    at: float
    memory_bytes: int | None
    cpu_cores: float | None
    throttled_fraction: float | None
    oom_kills: int | None


CgroupSource = Callable[[], CgroupSnapshot]


def cgroup_source(groups: Mapping[str, str]) -> CgroupSource:
    """A source reading each named cgroup path (relative to the hierarchy root)."""
    items = tuple(groups.items())
    return lambda: tuple((name, read_cgroup_stats(path)) for name, path in items)


def sample_between(previous: CgroupStats | None, current: CgroupStats) -> Sample:
    """One sample: rates over the interval since `previous` (pure)."""
    cores = throttled = None
    if previous is not None and current.taken_at > previous.taken_at:
        span = current.taken_at - previous.taken_at
        if current.cpu_usage_ns is not None and previous.cpu_usage_ns is not None:
            cores = max(0.0, (current.cpu_usage_ns - previous.cpu_usage_ns) / 1e9 / span)
        now_p, was_p = current.cpu_periods, previous.cpu_periods
        now_t, was_t = current.cpu_throttled_periods, previous.cpu_throttled_periods
        if now_p is not None and was_p is not None and now_t is not None and was_t is not None:
            periods = now_p - was_p
            throttled = (now_t - was_t) / periods if periods > 0 else 0.0
    return Sample(current.taken_at, current.memory_bytes, cores, throttled, current.oom_kills)


def _mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 2**20:.1f} MiB"


class CgroupView(LiveView[CgroupSnapshot]):
    title = "cgroups"

    def __init__(
        self,
        groups: Mapping[str, str] | str,
        *,
        interval: float = 1.0,
        alive: Alive | None = None,
        title: str | None = None,
        window: int = 120,
    ) -> None:
        named = {"cgroup": groups} if isinstance(groups, str) else dict(groups)
        self.groups = named
        super().__init__(cgroup_source(named), interval=interval, alive=alive, title=title)
        self.samples: dict[str, deque[Sample]] = {n: deque(maxlen=window) for n in named}
        self._last: dict[str, CgroupStats] = {}
        self._start = time.monotonic()

    @classmethod
    def for_pod(cls, lab: Any, name: str, namespace: str = "default",
                **kwargs: Any) -> CgroupView:
        """The pod-level cgroup and each container's cgroup of pod `namespace/name` in `lab`."""
        groups = pod_cgroups(lab.name, find_pod(lab_objects(lab), name, namespace) or {})
        if not groups:
            raise NodelabError(f"no cgroups found for pod {namespace}/{name} in lab {lab.name}"
                               f" (is it running? `kubectl get pod {name}`)")
        kwargs.setdefault("alive", until_lab_down(lab))
        kwargs.setdefault("title", f"cgroups of pod {namespace}/{name}")
        return cls(groups, **kwargs)

    def observe(self, snapshot: CgroupSnapshot) -> None:
        for name, stats in snapshot:
            if stats.exists:
                self.samples[name].append(sample_between(self._last.get(name), stats))
                self._last[name] = stats

    def changed(self, old: CgroupSnapshot | None, new: CgroupSnapshot) -> bool:
        return True  # the charts move with time even when the counters do not

    def oom_kills(self, name: str) -> int:
        stats = self._last.get(name)
        return stats.oom_kills or 0 if stats else 0

    def render_text(self, snapshot: CgroupSnapshot) -> str:
        lines = [f"{self.title}:"]
        for name, stats in snapshot:
            limit = _mib(stats.memory_limit) if stats.memory_limit else "no limit"
            lines.append(f"  {name} ({stats.path}): memory {_mib(stats.memory_bytes)} / {limit},"
                         f" OOM kills {stats.oom_kills or 0}, pids {list(stats.pids)}")
        return "\n".join(lines)

    def render_html(self, snapshot: CgroupSnapshot) -> str:
        return markup.block(*(self._render_group(name, stats) for name, stats in snapshot))

    def _render_group(self, name: str, stats: CgroupStats) -> str:
        head = markup.heading(name, f"{stats.path} · cgroup v{stats.version}")
        if not stats.exists:
            return head + markup.note("the cgroup does not exist (yet, or any more)")
        samples = list(self.samples.get(name, ()))
        latest = samples[-1] if samples else None
        limit = stats.memory_limit
        used = stats.memory_bytes
        pct = f" ({100 * used / limit:.0f}%)" if used is not None and limit else ""
        ooms = stats.oom_kills or 0
        facts = [
            f"memory {_mib(used)} of {_mib(limit) if limit else 'no limit'}{pct}",
            f"peak {_mib(stats.memory_peak)}",
            markup.badge(f"OOM kills {ooms}", markup.BAD if ooms else markup.MUTED),
            f"CPU {latest.cpu_cores:.2f} cores" if latest and latest.cpu_cores is not None
            else "CPU n/a",
            f"quota {stats.cpu_quota_cores:.2f} cores" if stats.cpu_quota_cores
            else "no CPU quota",
            f"throttled {100 * latest.throttled_fraction:.0f}% of periods"
            if latest and latest.throttled_fraction is not None else "",
            f"pids {' '.join(map(str, stats.pids)) or '-'}",
        ]
        line = " · ".join(markup.esc(f) if not f.startswith("<") else f for f in facts if f)
        t0 = self._start
        markers = []
        for before, after in zip(samples, samples[1:], strict=False):
            if (after.oom_kills or 0) > (before.oom_kills or 0):
                markers.append(Marker(after.at - t0, "OOM"))
        memory = Chart(
            "memory", unit=" MiB", markers=markers,
            series=[Series("used", "#0969da", [(s.at - t0, s.memory_bytes / 2**20)
                                               for s in samples if s.memory_bytes is not None])],
            limits=[("limit", limit / 2**20, "#cf222e")] if limit else [],
        )
        cpu = Chart(
            "CPU", unit=" cores",
            series=[
                Series("cores used", "#1a7f37", [(s.at - t0, s.cpu_cores) for s in samples
                                                 if s.cpu_cores is not None]),
                Series("throttled fraction", "#9a6700",
                       [(s.at - t0, s.throttled_fraction) for s in samples
                        if s.throttled_fraction is not None], dashed=True),
            ],
            limits=[("quota", stats.cpu_quota_cores, "#cf222e")] if stats.cpu_quota_cores else [],
        )
        return (head + f'<div style="margin:2px 0">{line}</div>'
                + f"<div>{line_chart(memory)} {line_chart(cpu)}</div>")

