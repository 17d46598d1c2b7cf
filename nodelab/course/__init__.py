"""Presentation helpers for the course notebooks (`notebooks/01-*` ... `07-*`).

The notebooks teach by calling the components' public API; this package holds only what would
otherwise be pasted into every notebook: running `kubectl` against a lab (`kubectl`,
`kubectl_json`), running a command inside a node's network namespace (`in_node`), waiting for
something to become true while showing what it waits for (`eventually`), labelling a plan
that this host cannot apply (`can_apply`, `describe_privileges`, `show_plan`), the learner's
tasks with their checks on the real lab (`Lesson`, `task.py`), the lab the notebooks share
(`use_lab`, one progress line; on the embedded control plane or joined to a cluster, the
`cluster` parameter: `cluster.py`, and what a cluster's API server cannot reach:
`kubelet_path_problem`), pods placed on the lab's nodes whatever the cluster
(`on_lab`, `lab_node`), a closing tally of plan and live checks
(`Checks`) and long objects folded under a summary (`collapsible`).

It holds no component logic: nothing here computes a plan or changes the kernel on its own.
It sits beside `nodelab.widgets` in the layers (a face), above `nodelab.lab`; it re-exports the
lab's unprivileged mode, `LoopbackControlPlane` (`nodelab.lab.loopback`), for the notebooks.
"""

from __future__ import annotations

from nodelab.course.checks import Checks
from nodelab.course.cluster import ClusterUnavailable, kubelet_path_problem
from nodelab.course.collapsible import collapsible
from nodelab.course.kubectl import kubectl, kubectl_json, kubectl_path
from nodelab.course.lab_session import progress_line, use_lab
from nodelab.course.node_shell import in_node
from nodelab.course.placement import lab_node, on_lab
from nodelab.course.plan_only import (
    FORCE_PLAN_ONLY,
    PLAN_ONLY,
    can_apply,
    describe_privileges,
    show_plan,
)
from nodelab.course.task import Lesson, Prediction, Task, TaskFailed
from nodelab.course.waiting import eventually
from nodelab.lab.loopback import LoopbackControlPlane

__all__ = [
    "Checks",
    "ClusterUnavailable",
    "FORCE_PLAN_ONLY",
    "PLAN_ONLY",
    "Lesson",
    "LoopbackControlPlane",
    "Prediction",
    "Task",
    "TaskFailed",
    "can_apply",
    "collapsible",
    "describe_privileges",
    "eventually",
    "in_node",
    "kubectl",
    "kubectl_json",
    "kubectl_path",
    "kubelet_path_problem",
    "lab_node",
    "on_lab",
    "progress_line",
    "show_plan",
    "use_lab",
]
