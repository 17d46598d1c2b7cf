"""`/metrics`: a few of the kubelet's own metrics in the Prometheus text format.

Upstream's names: `kubelet_node_name`, `kubelet_running_pods`, `kubelet_running_containers`,
`kubelet_evictions`; and nodelab's `kubelet_node_status_posts_total`. The resource metrics
are apart, at `/metrics/resource` (`resource_metrics.py`).
"""

from __future__ import annotations

from collections.abc import Mapping


def metrics_text(
    node_name: str, running_pods: int, container_states: Mapping[str, int],
    evictions: Mapping[str, int], status_posts: int,
) -> str:
    lines = [
        "# HELP kubelet_node_name The node's name. The count is always 1.",
        "# TYPE kubelet_node_name gauge",
        f'kubelet_node_name{{node="{node_name}"}} 1',
        "# HELP kubelet_running_pods Number of pods that have a running pod sandbox",
        "# TYPE kubelet_running_pods gauge",
        f"kubelet_running_pods {running_pods}",
        "# HELP kubelet_running_containers Number of containers currently running",
        "# TYPE kubelet_running_containers gauge",
    ]
    for state, count in sorted(container_states.items()):
        lines.append(f'kubelet_running_containers{{container_state="{state}"}} {count}')
    lines += ["# HELP kubelet_evictions Cumulative number of pod evictions by eviction signal",
              "# TYPE kubelet_evictions counter"]
    for signal, count in sorted(evictions.items()):
        lines.append(f'kubelet_evictions{{eviction_signal="{signal}"}} {count}')
    lines += ["# HELP kubelet_node_status_posts_total Node status updates sent (nodelab)",
              "# TYPE kubelet_node_status_posts_total counter",
              f"kubelet_node_status_posts_total {status_posts}"]
    return "\n".join(lines) + "\n"
