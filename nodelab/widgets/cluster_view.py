"""`ClusterView`: the nodes, pods and Services of a lab at a glance.

Three tables read through an `ObjectSource`, the way `kubectl get nodes,pods,svc -A -o wide`
would print them: nodes with Ready, podCIDR, internal IP and versions; pods with their node,
phase, ready containers, restarts and IP; Services with type, ClusterIP, ports and selector.
Pods are grouped under their node, so "which pod runs where" is one look.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nodelab.kube.objects import Object
from nodelab.widgets import markup
from nodelab.widgets.kube_objects import (
    ObjectSource,
    lab_objects,
    name_of,
    namespace_of,
)
from nodelab.widgets.kube_time import age, now
from nodelab.widgets.live import Alive, LiveView, until_lab_down
from nodelab.widgets.pod_lifecycle_view import PHASE_COLORS


@dataclass(frozen=True)
class ClusterSnapshot:
    nodes: tuple[Object, ...]
    pods: tuple[Object, ...]
    services: tuple[Object, ...]


def cluster_source(objects: ObjectSource, namespace: str | None = None
                   ) -> Callable[[], ClusterSnapshot]:
    def read() -> ClusterSnapshot:
        return ClusterSnapshot(
            nodes=tuple(sorted(objects.list("Node"), key=name_of)),
            pods=tuple(sorted(objects.list("Pod", namespace),
                              key=lambda p: (namespace_of(p), name_of(p)))),
            services=tuple(sorted(objects.list("Service", namespace),
                                  key=lambda s: (namespace_of(s), name_of(s)))),
        )

    return read


def _ready(node: Object) -> str:
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return str(condition.get("status"))
    return "Unknown"


def _internal_ip(node: Object) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return str(address.get("address"))
    return "-"


def _pod_row(pod: Object, at: Any) -> list[str]:
    status = pod.get("status") or {}
    containers = status.get("containerStatuses") or []
    phase = str(status.get("phase", "?"))
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        phase = "Terminating"
    ready = sum(1 for c in containers if c.get("ready"))
    total = len((pod.get("spec") or {}).get("containers") or containers)
    return [
        markup.esc(f"{namespace_of(pod)}/{name_of(pod)}"),
        markup.badge(phase, PHASE_COLORS.get(phase, markup.WARN)),
        markup.esc(f"{ready}/{total}"),
        markup.esc(sum(int(c.get("restartCount", 0)) for c in containers)),
        markup.esc(status.get("podIP", "-")),
        markup.esc(age((pod.get("metadata") or {}).get("creationTimestamp"), at)),
    ]


def _service_row(service: Object) -> list[str]:
    spec = service.get("spec") or {}
    ports = ", ".join(
        f"{p.get('port')}{'→' + str(p['targetPort']) if p.get('targetPort') else ''}"
        f"/{p.get('protocol', 'TCP')}" + (f" node:{p['nodePort']}" if p.get("nodePort") else "")
        for p in spec.get("ports") or [])
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return [f"{namespace_of(service)}/{name_of(service)}", str(spec.get("type", "ClusterIP")),
            str(spec.get("clusterIP", "-")), ports or "-", selector or "-"]


class ClusterView(LiveView[ClusterSnapshot]):
    title = "cluster"

    def __init__(
        self,
        objects: ObjectSource,
        *,
        namespace: str | None = None,
        interval: float = 2.0,
        alive: Alive | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(cluster_source(objects, namespace), interval=interval, alive=alive,
                         title=title)

    @classmethod
    def for_lab(cls, lab: Any, **kwargs: Any) -> ClusterView:
        """This view on the API server of `lab` (a `nodelab.lab.Lab`); stops when it goes down."""
        kwargs.setdefault("alive", until_lab_down(lab))
        return cls(lab_objects(lab), **kwargs)

    def changed(self, old: ClusterSnapshot | None, new: ClusterSnapshot) -> bool:
        return True  # ages move on

    def render_text(self, snapshot: ClusterSnapshot) -> str:
        return (f"{self.title}: {len(snapshot.nodes)} node(s), {len(snapshot.pods)} pod(s), "
                f"{len(snapshot.services)} service(s)")

    def render_html(self, snapshot: ClusterSnapshot) -> str:
        at = now()
        parts = [markup.heading("nodes", f"{len(snapshot.nodes)}")]
        parts.append(markup.table(
            ["node", "ready", "podCIDR", "internal IP", "kubelet", "pods", "age"],
            [[markup.esc(name_of(n)),
              markup.badge(_ready(n), markup.OK if _ready(n) == "True" else markup.BAD),
              markup.esc((n.get("spec") or {}).get("podCIDR", "-")),
              markup.esc(_internal_ip(n)),
              markup.esc(((n.get("status") or {}).get("nodeInfo") or {})
                         .get("kubeletVersion", "-")),
              markup.esc(sum(1 for p in snapshot.pods
                             if (p.get("spec") or {}).get("nodeName") == name_of(n))),
              markup.esc(age((n.get("metadata") or {}).get("creationTimestamp"), at))]
             for n in snapshot.nodes], raw=True))
        by_node: dict[str, list[Object]] = {}
        for pod in snapshot.pods:
            node = (pod.get("spec") or {}).get("nodeName") or "(not scheduled)"
            by_node.setdefault(node, []).append(pod)
        parts.append(markup.heading("pods", f"{len(snapshot.pods)}"))
        for node in sorted(by_node):
            parts.append(markup.note(f"on {node}"))
            parts.append(markup.table(["pod", "phase", "ready", "restarts", "IP", "age"],
                                      [_pod_row(p, at) for p in by_node[node]], raw=True))
        parts.append(markup.heading("services", f"{len(snapshot.services)}"))
        parts.append(markup.table(["service", "type", "clusterIP", "ports", "selector"],
                                  [_service_row(s) for s in snapshot.services]))
        return markup.block(*parts, title=self.title)
