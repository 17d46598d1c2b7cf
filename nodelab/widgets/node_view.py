"""`NodeView`: the Node object a kubelet registered, and the heartbeats that keep it alive.

It shows what registration wrote and what the node status loop keeps writing: addresses and
`nodeInfo`, `podCIDR`, capacity against allocatable (the difference is what the kubelet
reserves for the system and for eviction), labels, taints, and the conditions with the age of
their last heartbeat and last transition. Next to it the node's Lease in `kube-node-lease`:
its holder, duration and the age of its `renewTime`, and, while the view runs, every renewal it
saw and the intervals between them (the kubelet renews every 10 s by default; the node
lifecycle controller marks the node NotReady after 40 s without one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nodelab.kube.objects import Object
from nodelab.widgets import markup
from nodelab.widgets.kube_objects import ObjectSource, lab_objects, name_of
from nodelab.widgets.kube_time import age, now, parse_time, quantity
from nodelab.widgets.live import Alive, LiveView, until_lab_down

LEASE_NAMESPACE = "kube-node-lease"
RESOURCES = ("cpu", "memory", "ephemeral-storage", "pods")


@dataclass(frozen=True)
class NodeSnapshot:
    name: str
    node: Object | None
    lease: Object | None


def node_source(objects: ObjectSource, name: str) -> Callable[[], NodeSnapshot]:
    def read() -> NodeSnapshot:
        node = next((n for n in objects.list("Node") if name_of(n) == name), None)
        lease = next((x for x in objects.list("Lease", LEASE_NAMESPACE) if name_of(x) == name),
                     None)
        return NodeSnapshot(name, node, lease)

    return read


def _capacity_rows(status: dict[str, Any]) -> list[list[str]]:
    capacity = status.get("capacity") or {}
    allocatable = status.get("allocatable") or {}
    rows = []
    for resource in [*RESOURCES, *sorted(set(capacity) - set(RESOURCES))]:
        if resource not in capacity and resource not in allocatable:
            continue
        cap, alloc = capacity.get(resource, "-"), allocatable.get(resource, "-")
        cap_q, alloc_q = quantity(cap), quantity(alloc)
        reserved = ""
        if cap_q is not None and alloc_q is not None and cap_q > 0:
            reserved = f"{100 * (cap_q - alloc_q) / cap_q:.1f}% reserved"
        rows.append([markup.esc(resource), markup.esc(cap), markup.esc(alloc),
                     markup.esc(reserved)])
    return rows


def _condition_rows(status: dict[str, Any], at: datetime) -> list[list[str]]:
    rows = []
    for condition in status.get("conditions") or []:
        kind, value = condition.get("type", ""), condition.get("status", "")
        good = (value == "True") == (kind == "Ready")
        rows.append([
            markup.esc(kind),
            markup.badge(value, markup.OK if good else markup.BAD),
            markup.esc(condition.get("reason", "")),
            markup.esc(condition.get("message", "")),
            markup.esc(age(condition.get("lastHeartbeatTime"), at)),
            markup.esc(age(condition.get("lastTransitionTime"), at)),
        ])
    return rows


class NodeView(LiveView[NodeSnapshot]):
    title = "node"

    def __init__(
        self,
        objects: ObjectSource,
        name: str,
        *,
        interval: float = 2.0,
        alive: Alive | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(node_source(objects, name), interval=interval, alive=alive,
                         title=title or f"node {name}")
        self.renewals: list[datetime] = []
        """Every distinct Lease renewTime seen while the view ran, oldest first."""

    @classmethod
    def for_lab(cls, lab: Any, node: str = "node1", **kwargs: Any) -> NodeView:
        """This view on the API server of `lab` (a `nodelab.lab.Lab`); stops when it goes down."""
        kwargs.setdefault("alive", until_lab_down(lab))
        return cls(lab_objects(lab), node, **kwargs)

    def observe(self, snapshot: NodeSnapshot) -> None:
        spec = (snapshot.lease or {}).get("spec") or {}
        renewed = parse_time(spec.get("renewTime"))
        if renewed is not None and (not self.renewals or self.renewals[-1] != renewed):
            self.renewals = [*self.renewals[-19:], renewed]

    def changed(self, old: NodeSnapshot | None, new: NodeSnapshot) -> bool:
        return True  # ages move on even when the object does not

    def render_text(self, snapshot: NodeSnapshot) -> str:
        if snapshot.node is None:
            return f"node {snapshot.name}: not registered"
        conditions = (snapshot.node.get("status") or {}).get("conditions") or []
        ready = next((c.get("status") for c in conditions if c.get("type") == "Ready"), "?")
        return f"node {snapshot.name}: Ready={ready}"

    def render_html(self, snapshot: NodeSnapshot) -> str:
        at = now()
        if snapshot.node is None:
            return markup.block(markup.note(f"node {snapshot.name} is not registered (yet)"),
                                title=f"Node {snapshot.name}")
        node = snapshot.node
        meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, \
            node.get("status") or {}
        info = status.get("nodeInfo") or {}
        addresses = ", ".join(f"{a.get('type')}={a.get('address')}"
                              for a in status.get("addresses") or [])
        facts = [
            f"created {age(meta.get('creationTimestamp'), at)} ago",
            f"addresses {addresses or '-'}",
            f"podCIDR {spec.get('podCIDR', '-')}",
            f"kubelet {info.get('kubeletVersion', '-')}",
            f"runtime {info.get('containerRuntimeVersion', '-')}",
            f"{info.get('osImage', '')} {info.get('kernelVersion', '')}".strip(),
        ]
        if spec.get("unschedulable"):
            facts.append("unschedulable (cordoned)")
        labels = " ".join(markup.badge(f"{k}={v}") for k, v in
                          sorted((meta.get("labels") or {}).items()))
        taints = " ".join(
            markup.badge(f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}"
                         f":{t.get('effect')}", markup.WARN)
            for t in spec.get("taints") or []) or markup.esc("none")
        parts = [
            markup.note(" · ".join(f for f in facts if f)),
            markup.heading("capacity and allocatable"),
            markup.table(["resource", "capacity", "allocatable", ""], _capacity_rows(status),
                         raw=True),
            markup.heading("labels"), f"<div>{labels or '-'}</div>",
            markup.heading("taints"), f"<div>{taints}</div>",
            markup.heading("conditions"),
            markup.table(["type", "status", "reason", "message", "heartbeat", "transition"],
                         _condition_rows(status, at), raw=True),
            self._render_lease(snapshot.lease, at),
        ]
        return markup.block(*parts, title=f"Node {snapshot.name}")

    def _render_lease(self, lease: Object | None, at: datetime) -> str:
        head = markup.heading(f"Lease {LEASE_NAMESPACE}/…")
        if lease is None:
            return head + markup.note("no Lease (the kubelet has not renewed one yet)")
        spec = lease.get("spec") or {}
        head = markup.heading(f"Lease {LEASE_NAMESPACE}/{name_of(lease)}")
        text = (f"holder {spec.get('holderIdentity', '-')} · duration "
                f"{spec.get('leaseDurationSeconds', '-')}s · renewed "
                f"{age(spec.get('renewTime'), at)} ago")
        seen = self.renewals
        if len(seen) > 1:
            gaps = [f"{(b - a).total_seconds():.1f}s" for a, b in
                    zip(seen, seen[1:], strict=False)]
            text += f" · {len(seen)} renewals seen, intervals {' '.join(gaps[-8:])}"
        return head + markup.note(text)
