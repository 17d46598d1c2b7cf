"""Changing a running lab's settings, as a kubeadm user edits a component's configuration and
restarts it (`LabSettingsChanges`, a part of `Lab`):

- `set_node_monitor_grace_period(seconds)`: the controllers restart with
  `--node-monitor-grace-period` (an edit of kube-controller-manager's static pod manifest);
- `set_kubelet_config(fragment)`: every node's kubelet config file gets the fragment
  (settings/kubelet.py) and every kubelet restarts (an edit of /var/lib/kubelet/config.yaml and
  `systemctl restart kubelet` on each node). The pods keep running: a restarted kubelet adopts
  them. Its in-memory state starts again, e.g. a pressure condition it was keeping True;
- `enable_node_problem_detector()`: an add-on turned on, as a kubeadm user applies
  node-problem-detector's manifests (nodelab/lab/addons/node_problem_detector.py).

The first two keep the new value in lab.json, so a later `up` keeps it (and `up` with another
value is an error that names these methods).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from nodelab.errors import NodelabError
from nodelab.lab.addons.node_problem_detector import DeployNodeProblemDetector
from nodelab.lab.context import LabContext, Progress
from nodelab.lab.daemons import DaemonStatus
from nodelab.lab.description import LabDescription
from nodelab.lab.lock import locked
from nodelab.lab.names import LabNames
from nodelab.lab.paths import LabPaths
from nodelab.lab.settings.kubelet import check_kubelet_config
from nodelab.lab.settings.up import NODE_MONITOR_GRACE
from nodelab.lab.up.controlplane import controllers_spec, lab_pki
from nodelab.lab.up.node_daemons import node_specs


def _quiet(_message: str) -> None:
    """Say nothing."""


class LabSettingsChanges:
    """The settings of a running lab that change without taking it down."""

    description: LabDescription
    names: LabNames
    paths: LabPaths

    def set_node_monitor_grace_period(self, seconds: float | None) -> DaemonStatus:
        """Restart the lab's controllers with `--node-monitor-grace-period` set to `seconds`
        (20 to 600; None: upstream's 50 s), as a kubeadm user edits kube-controller-manager's
        static pod manifest; the lab keeps it (lab.json) for later `up`s. Returns the
        controllers' status once they run again."""
        NODE_MONITOR_GRACE.check(seconds)
        self._embedded("its controllers are that cluster's, not the lab's")
        with locked(self.paths):
            ctx = self._changed(node_monitor_grace_period=seconds)
            return ctx.supervisor.restart_with(controllers_spec(self.paths, lab_pki(ctx), seconds))

    def set_kubelet_config(self, fragment: Mapping[str, Any] | None) -> list[DaemonStatus]:
        """Give every node's kubelet the `KubeletConfiguration` fields of `fragment` (None or
        {}: none beyond the lab's own) and restart each kubelet with it, as a kubeadm user
        edits each node's kubelet config file; the lab keeps it (lab.json) for later `up`s.
        Returns the kubelets' status once each serves again."""
        checked = check_kubelet_config(fragment) or None
        self._embedded("its kubelets' configuration is written by join")
        with locked(self.paths):
            ctx = self._changed(kubelet_config=checked)
            restarted = []
            for node in ctx.topology.nodes:
                kubelet = next(spec for spec in node_specs(ctx, node)
                               if spec.name == f"{node.name}/kubelet")
                restarted.append(ctx.supervisor.restart_with(kubelet))
            return restarted

    def enable_node_problem_detector(self, progress: Progress | None = None) -> None:
        """Run node-problem-detector on every node (a DaemonSet in kube-system, upstream's
        manifests; off by default, as on kubeadm clusters): the nodes get the KernelDeadlock
        and ReadonlyFilesystem conditions and OOMKilling/TaskHung/... events. Returns once it
        runs on every node; safe to repeat (docs/addons.md)."""
        self._embedded("deploy node-problem-detector with that cluster's own manifests")
        with locked(self.paths):
            ctx = LabContext.of(self.names, self.paths, self.description, progress or _quiet)
            step = DeployNodeProblemDetector()
            ctx.progress(step.name)
            step.execute(ctx)

    def _embedded(self, why: str) -> None:
        if self.description.joined:
            raise NodelabError(f"lab {self.description.name} joined "
                               f"{self.description.joined}: {why}")

    def _changed(self, **changes: Any) -> LabContext:
        """Save lab.json with `changes` (the lock is held); the context to apply them in."""
        name = self.description.name
        description = LabDescription.load(self.paths.description)
        if description is None:
            raise NodelabError(f"lab {name} is not up (start it with `nodelab up --name {name}`)")
        description = replace(description, **changes)
        description.save(self.paths.description)
        self.description = description
        return LabContext.of(self.names, self.paths, description, _quiet)
