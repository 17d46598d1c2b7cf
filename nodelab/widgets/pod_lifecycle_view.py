"""`PodLifecycleView`: the life of one pod as a timeline: phase, conditions, containers, events.

A pod's status only holds the *latest* of everything; its history is spread over timestamps:
`creationTimestamp`, each condition's `lastTransitionTime` (PodScheduled, PodReadyToStartContainers,
Initialized, ContainersReady, Ready), `startTime` (the kubelet accepted it), every container's
`state` and `lastState` (`running.startedAt`, `terminated.startedAt/finishedAt/exitCode/
reason`) and the Events whose `involvedObject` is the pod (Scheduled, Pulling, Pulled, Created,
Started, Killing, BackOff, Unhealthy...). `pod_timeline` gathers them into one ordered list
(pure); the view adds the phase changes it saw itself while running, since the API keeps no
history of phases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nodelab.kube.objects import Object
from nodelab.widgets import markup
from nodelab.widgets.kube_objects import ObjectSource, lab_objects, name_of
from nodelab.widgets.kube_time import age, now, parse_time
from nodelab.widgets.live import Alive, LiveView, until_lab_down

PHASE_COLORS = {"Pending": markup.WARN, "Running": markup.OK, "Succeeded": markup.MUTED,
                "Failed": markup.BAD, "Unknown": markup.BAD}


@dataclass(frozen=True)
class PodSnapshot:
    namespace: str
    name: str
    pod: Object | None
    events: tuple[Object, ...]


@dataclass(frozen=True, order=True)
class Moment:
    at: datetime
    source: str
    """`pod` (from the object's timestamps), `event`, or `view` (seen by this view)."""
    text: str


def pod_source(objects: ObjectSource, namespace: str, name: str) -> Callable[[], PodSnapshot]:
    def read() -> PodSnapshot:
        pod = next((p for p in objects.list("Pod", namespace) if name_of(p) == name), None)
        events = tuple(
            e for e in objects.list("Event", namespace)
            if (e.get("involvedObject") or {}).get("kind") == "Pod"
            and (e.get("involvedObject") or {}).get("name") == name
        )
        return PodSnapshot(namespace, name, pod, events)

    return read


def _state_text(state: dict[str, Any]) -> str:
    if "running" in state:
        return "running"
    if "terminated" in state:
        t = state["terminated"]
        return f"terminated exit {t.get('exitCode')} ({t.get('reason', '')})"
    if "waiting" in state:
        return f"waiting ({(state['waiting'] or {}).get('reason', '')})"
    return "-"


def _container_moments(status: dict[str, Any], run: str) -> list[Moment]:
    moments = []
    name = status.get("name", "?")
    for which, state in (("previous", status.get("lastState") or {}),
                         ("current", status.get("state") or {})):
        running = state.get("running")
        if running and parse_time(running.get("startedAt")):
            moments.append(Moment(parse_time(running["startedAt"]),  # type: ignore[arg-type]
                                  "pod", f"{run} {name} started (running)"))
        ended = state.get("terminated")
        if ended:
            started, finished = parse_time(ended.get("startedAt")), parse_time(
                ended.get("finishedAt"))
            if started:
                moments.append(Moment(started, "pod", f"{run} {name} started ({which} run)"))
            if finished:
                moments.append(Moment(
                    finished, "pod", f"{run} {name} exited with code {ended.get('exitCode')}"
                    f" ({ended.get('reason', '')})"))
    return moments


def pod_timeline(pod: Object | None, events: tuple[Object, ...]) -> list[Moment]:
    """Every dated thing the pod and its events tell, oldest first (pure)."""
    moments: list[Moment] = []
    if pod is not None:
        meta, status = pod.get("metadata") or {}, pod.get("status") or {}
        created = parse_time(meta.get("creationTimestamp"))
        if created:
            moments.append(Moment(created, "pod", "created (API server stored the Pod)"))
        started = parse_time(status.get("startTime"))
        if started:
            moments.append(Moment(started, "pod", "startTime (the kubelet accepted the pod)"))
        for condition in status.get("conditions") or []:
            when = parse_time(condition.get("lastTransitionTime"))
            if when:
                reason = f" ({condition['reason']})" if condition.get("reason") else ""
                moments.append(Moment(when, "pod", f"condition {condition.get('type')}="
                                      f"{condition.get('status')}{reason}"))
        for status_list, run in (("initContainerStatuses", "init container"),
                                 ("containerStatuses", "container")):
            for container in status.get(status_list) or []:
                moments += _container_moments(container, run)
        deleted = parse_time(meta.get("deletionTimestamp"))
        if deleted:
            moments.append(Moment(deleted, "pod", "deletion requested (grace period runs)"))
    for event in events:
        when = parse_time(event.get("lastTimestamp") or event.get("eventTime")
                          or event.get("firstTimestamp")
                          or (event.get("metadata") or {}).get("creationTimestamp"))
        if when:
            count = f" ×{event['count']}" if (event.get("count") or 1) > 1 else ""
            moments.append(Moment(when, "event", f"{event.get('type', '')} {event.get('reason')}"
                                  f"{count}: {event.get('message', '')}"))
    return chronological(moments)


def chronological(moments: list[Moment]) -> list[Moment]:
    """Oldest first; within one second (the API's resolution) the Pod's creation comes first."""
    return sorted(moments, key=lambda m: (m.at, not m.text.startswith("created"), m.source,
                                          m.text))


class PodLifecycleView(LiveView[PodSnapshot]):
    title = "pod"

    def __init__(
        self,
        objects: ObjectSource,
        name: str,
        namespace: str = "default",
        *,
        interval: float = 1.0,
        alive: Alive | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(pod_source(objects, namespace, name), interval=interval, alive=alive,
                         title=title or f"pod {namespace}/{name}")
        self.phases: list[tuple[datetime, str]] = []
        """The phases this view saw, with when it first saw each."""

    @classmethod
    def for_lab(
        cls, lab: Any, name: str, namespace: str = "default", **kwargs: Any
    ) -> PodLifecycleView:
        """This view on the API server of `lab` (a `nodelab.lab.Lab`); stops when it goes down."""
        kwargs.setdefault("alive", until_lab_down(lab))
        return cls(lab_objects(lab), name, namespace, **kwargs)

    def observe(self, snapshot: PodSnapshot) -> None:
        phase = ((snapshot.pod or {}).get("status") or {}).get("phase") \
            if snapshot.pod else "absent"
        if phase and (not self.phases or self.phases[-1][1] != phase):
            self.phases.append((now(), str(phase)))

    def timeline(self, snapshot: PodSnapshot | None = None) -> list[Moment]:
        snapshot = snapshot or self.snapshot
        if snapshot is None:
            return []
        seen = [Moment(at, "view", f"phase {phase} seen") for at, phase in self.phases]
        return chronological(pod_timeline(snapshot.pod, snapshot.events) + seen)

    def render_text(self, snapshot: PodSnapshot) -> str:
        lines = [f"pod {snapshot.namespace}/{snapshot.name}:"]
        lines += [f"  {m.at:%H:%M:%S} {m.source:5} {m.text}" for m in self.timeline(snapshot)]
        return "\n".join(lines)

    def render_html(self, snapshot: PodSnapshot) -> str:
        title = f"Pod {snapshot.namespace}/{snapshot.name}"
        at = now()
        if snapshot.pod is None:
            head = markup.note("the pod does not exist (not created yet, or deleted)")
        else:
            spec, status = snapshot.pod.get("spec") or {}, snapshot.pod.get("status") or {}
            phase = str(status.get("phase", "?"))
            conditions = " ".join(
                markup.badge(str(c.get("type")), markup.OK if c.get("status") == "True"
                             else markup.MUTED) for c in status.get("conditions") or [])
            head = (f"<div>{markup.badge(phase, PHASE_COLORS.get(phase, markup.MUTED))} "
                    f"{conditions}</div>" + markup.note(
                        f"node {spec.get('nodeName', '-')} · podIP {status.get('podIP', '-')}"
                        f" · QoS {status.get('qosClass', '-')}"))
            rows = [
                [markup.esc(c.get("name")), markup.esc(c.get("image", "")),
                 markup.esc(_state_text(c.get("state") or {})),
                 markup.esc(_state_text(c.get("lastState") or {}) if c.get("lastState")
                            else "-"),
                 markup.badge("ready", markup.OK) if c.get("ready")
                 else markup.badge("not ready", markup.BAD),
                 markup.esc(c.get("restartCount", 0))]
                for c in [*(status.get("initContainerStatuses") or []),
                          *(status.get("containerStatuses") or [])]
            ]
            if rows:
                head += markup.table(["container", "image", "state", "last state", "ready",
                                      "restarts"], rows, raw=True)
        moments = self.timeline(snapshot)
        start = moments[0].at if moments else at
        rows = [[f"+{(m.at - start).total_seconds():.0f}s", m.at.strftime("%H:%M:%S"),
                 age(m.at.isoformat(), at), m.source, m.text] for m in moments]
        return markup.block(head, markup.heading("timeline"),
                            markup.table(["t", "time", "ago", "from", "what"], rows),
                            title=title)
