"""node-problem-detector as upstream's DaemonSet lays it out, on a lab that asks for it.

The objects are upstream's (`deployment/` of kubernetes/node-problem-detector): the
`node-problem-detector` ServiceAccount in kube-system; the ClusterRoleBinding `npd-binding` to
`system:node-problem-detector`, a role kube-apiserver bootstraps (get nodes, patch
nodes/status, write events) but binds to nobody; the ConfigMap `node-problem-detector-config`
with `kernel-monitor.json` and `readonly-monitor.json` (`npd_config.py`); the DaemonSet, one
privileged pod per Linux node, tolerating every NoSchedule and NoExecute taint, `NODE_NAME`
from `spec.nodeName`, /dev/kmsg mounted read-only from the node. The program is nodelab's
(`nodelab.addons.npd`), from the add-on image.

Differs from upstream's manifest, and why:
- no `docker-monitor.json` (it watches docker's journald unit; a lab node has neither), so no
  /var/log mount; no /etc/localtime mount (the program stamps times in UTC);
- `--node-cgroup=/nodelab/<lab>/$(NODE_NAME)` (nodelab's flag, `node_scope.py`): the nodes
  of every lab share one kernel log, and the kernel names the OOM-killed task's cgroup, so each
  node reports only its own OOM kills (upstream on kind reports each one on every node);
- CPU limit 100m, not 10m: the Python program's start (0.1 s of CPU for the interpreter and
  its imports alone, then TLS and a pass over the kernel's whole ring) would take tens of
  seconds under a 10m quota (requests are upstream's 10m and 80Mi).

Not on by default: kubeadm clusters do not run it either. `Lab.enable_node_problem_detector()`
runs `DeployNodeProblemDetector`, which waits until the pod runs on every node; notebook 07's
optional lesson does that. `npd_objects` is the plan (pure).
"""

from __future__ import annotations

import time
from typing import Any

from kubernetes import config

from nodelab.errors import NodelabError
from nodelab.kube.rest import Rest
from nodelab.lab.addons.cluster_dns import IMAGE_NAME, NAMESPACE, create_or_update
from nodelab.lab.addons.image import addon_image
from nodelab.lab.addons.npd_config import config_files
from nodelab.lab.context import LabContext
from nodelab.lab.registry.credentials import push_client
from nodelab.oci.push import push_image

NAME = "node-problem-detector"
LABELS = {"app": NAME}
ROLE = "system:node-problem-detector"
RUNNING_TIMEOUT = 90.0
CONFIG_DIR = "/config"


LINUX_ONLY = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]}}}


def _daemonset(image: str, node_cgroup: str) -> dict[str, Any]:
    configs = ",".join(f"{CONFIG_DIR}/{name}" for name in config_files())
    container = {
        "name": NAME, "image": image, "imagePullPolicy": "IfNotPresent",
        "args": ["nodelab.addons.npd", "--logtostderr",
                 f"--config.system-log-monitor={configs}", f"--node-cgroup={node_cgroup}"],
        "resources": {"limits": {"cpu": "100m", "memory": "80Mi"},
                      "requests": {"cpu": "10m", "memory": "80Mi"}},
        "securityContext": {"privileged": True},
        "env": [{"name": "NODE_NAME",
                 "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "volumeMounts": [{"name": "kmsg", "mountPath": "/dev/kmsg", "readOnly": True},
                         {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}],
    }
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
        "spec": {
            "selector": {"matchLabels": dict(LABELS)},
            "template": {
                "metadata": {"labels": dict(LABELS)},
                "spec": {
                    "affinity": LINUX_ONLY,
                    "containers": [container],
                    "serviceAccountName": NAME,
                    "volumes": [
                        {"name": "kmsg", "hostPath": {"path": "/dev/kmsg"}},
                        {"name": "config", "configMap": {"name": f"{NAME}-config", "items": [
                            {"key": name, "path": name} for name in config_files()]}}],
                    "tolerations": [{"effect": "NoSchedule", "operator": "Exists"},
                                    {"effect": "NoExecute", "operator": "Exists"}],
                },
            },
        },
    }


def npd_objects(image: str, lab_cgroup: str) -> list[tuple[str, dict[str, Any]]]:
    """(resource, object) of everything the detector needs, in creation order; `lab_cgroup`
    is the lab's cgroup (`nodelab/<lab>`), under which each node's is `<node>`."""
    account = {"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": NAME, "namespace": NAMESPACE}}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "npd-binding"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": ROLE},
               "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]}
    configmap = {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": f"{NAME}-config", "namespace": NAMESPACE},
                 "data": config_files()}
    node_cgroup = f"/{lab_cgroup.strip('/')}/$(NODE_NAME)"
    return [("serviceaccounts", account), ("clusterrolebindings", binding),
            ("configmaps", configmap), ("daemonsets", _daemonset(image, node_cgroup))]


def running_everywhere(daemonset: dict[str, Any]) -> bool:
    """Every node that should run the detector runs it (its container started)."""
    status = daemonset.get("status") or {}
    desired = int(status.get("desiredNumberScheduled") or 0)
    return desired > 0 and int(status.get("numberReady") or 0) >= desired


class DeployNodeProblemDetector:
    """The detector's objects created and its pod running on every node."""

    name = "node problem detector"

    def __init__(self, timeout: float = RUNNING_TIMEOUT) -> None:
        self.timeout = timeout

    def execute(self, ctx: LabContext) -> None:
        if ctx.description.joined:
            raise NodelabError(
                f"lab {ctx.names.lab} joined {ctx.description.joined}: deploy a node problem "
                "detector with that cluster's own manifests (kubernetes/node-problem-detector)")
        registry = ctx.topology.registry
        digest = push_image(push_client(ctx), IMAGE_NAME, "1.0", addon_image())
        api = config.new_client_from_config(str(ctx.paths.kubeconfig))  # type: ignore[no-untyped-call]
        rest = Rest(api)
        for resource, obj in npd_objects(f"{registry}/{IMAGE_NAME}@{digest}",
                                         ctx.names.cgroup()):
            create_or_update(rest, resource, obj)
        deadline = time.monotonic() + self.timeout
        while not running_everywhere(rest.get("daemonsets", NAMESPACE, NAME)):
            if time.monotonic() > deadline:
                raise NodelabError(
                    f"{NAME} not running on every node after {self.timeout:.0f}s: see "
                    f"`kubectl -n {NAMESPACE} describe pods -l app={NAME}` and its logs")
            time.sleep(0.25)
        ctx.progress(f"{NAME}: running on every node")
