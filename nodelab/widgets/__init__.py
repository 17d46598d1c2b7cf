"""Live ipywidgets + graphviz views of each step of the node.

Every view is a `LiveView`: a source read by a background thread, pure rendering to HTML/SVG
(the static form, shown by papermill outputs and GitHub too) and widgets updated under
`hold_sync`. Display one as the last expression of a cell; `stop()` it, or let it stop when
its lab goes down. See docs/views.md.

- `NetworkView`: bridges, veth pairs, namespaces, addresses, routes (netlink);
- `CgroupView`: memory vs limit, CPU vs quota, throttling, OOM kills (cgroup v1/v2 files);
- `SandboxView`: a pod's namespaces, what pins them, its processes (/proc);
- `ServiceView`: KUBE-SERVICES -> KUBE-SVC -> KUBE-SEP with live counters (iptables-save -c);
- `NodeView`: capacity/allocatable, labels, taints, conditions, the Lease (an `ObjectSource`);
- `PodLifecycleView`: a pod's timeline: phase, conditions, containers, events;
- `ProbeView`: probe specs, readiness over time, failures, restarts;
- `ClusterView`: nodes, pods and Services at a glance.
"""

from nodelab.widgets.cgroup_view import CgroupView
from nodelab.widgets.cluster_view import ClusterView
from nodelab.widgets.kube_objects import ApiObjects, ObjectSource, StaticObjects
from nodelab.widgets.live import LiveView, stop_all, until_lab_down
from nodelab.widgets.network_view import NetworkView
from nodelab.widgets.node_view import NodeView
from nodelab.widgets.pod_lifecycle_view import PodLifecycleView
from nodelab.widgets.probe_view import ProbeResult, ProbeView
from nodelab.widgets.sandbox_view import SandboxView
from nodelab.widgets.service_view import ServiceView

__all__ = [
    "ApiObjects",
    "CgroupView",
    "ClusterView",
    "LiveView",
    "NetworkView",
    "NodeView",
    "ObjectSource",
    "PodLifecycleView",
    "ProbeResult",
    "ProbeView",
    "SandboxView",
    "ServiceView",
    "StaticObjects",
    "stop_all",
    "until_lab_down",
]
