"""The kubelet: node registration, heartbeats, conditions, eviction and the kubelet server.

It talks to the API only through a kubeconfig (nodelab's small REST client, `kubelet/api.py`),
and to the runtime only over CRI gRPC, so it runs the same against nodelab's control plane and
runtime, kind, or containerd. The plans (Node object, conditions, eviction order) are pure
functions; `Kubelet` applies them. See docs/kubelet.md.
"""

from nodelab.kubelet.config import KubeletConfig, Taint
from nodelab.kubelet.cri import RuntimeCondition
from nodelab.kubelet.eviction.ranking import PodUsage, eviction_message, rank_pods
from nodelab.kubelet.machine import MachineFacts, read_machine
from nodelab.kubelet.node.conditions import compute_conditions, runtime_errors
from nodelab.kubelet.node.heartbeat import lease_object, should_post_status
from nodelab.kubelet.node.node_object import allocatable_values, capacity_values, node_object

__all__ = [
    "KubeletConfig",
    "MachineFacts",
    "PodUsage",
    "RuntimeCondition",
    "Taint",
    "allocatable_values",
    "capacity_values",
    "compute_conditions",
    "eviction_message",
    "lease_object",
    "node_object",
    "rank_pods",
    "read_machine",
    "runtime_errors",
    "should_post_status",
]
