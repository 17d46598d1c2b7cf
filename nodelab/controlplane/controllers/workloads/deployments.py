"""The Deployment controller: ReplicaSets per template, rolling updates, rollout status."""

from __future__ import annotations

from typing import Any

from nodelab.controlplane.controllers.workloads.deployment_plan import REVISION, plan_deployment
from nodelab.kube.events import event_for
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer

COMPONENT = "deployment-controller"


def _status_differs(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    for key, value in wanted.items():
        if key == "conditions":
            have = {(c.get("type"), c.get("status"), c.get("reason"))
                    for c in current.get("conditions") or []}
            if have != {(c["type"], c["status"], c["reason"]) for c in value}:
                return True
        elif current.get(key, 0 if isinstance(value, int) else None) != value:
            return True
    return False


class DeploymentController:
    name = "deployment"
    kinds: tuple[str, ...] = ("deployments", "replicasets")
    periodic = False

    def sync(self, store: Store, writer: Writer) -> None:
        for deployment in store.list("deployments"):
            metadata = deployment["metadata"]
            if metadata.get("deletionTimestamp"):
                continue
            namespace, name = metadata["namespace"], metadata["name"]
            plan = plan_deployment(deployment, store.list("replicasets", namespace))
            for body in plan.create:
                writer.create("replicasets", namespace, body)
            for rs_name, revision in plan.revise.items():
                writer.patch("replicasets", namespace, rs_name,
                             {"metadata": {"annotations": {REVISION: revision}}})
            annotations = metadata.get("annotations") or {}
            if plan.revision and annotations.get(REVISION) != plan.revision:
                writer.patch("deployments", namespace, name,
                             {"metadata": {"annotations": {REVISION: plan.revision}}})
            for rs_name, replicas in plan.scale.items():
                writer.patch("replicasets", namespace, rs_name, {"spec": {"replicas": replicas}})
            for message in plan.scaling:
                writer.event(event_for(deployment, "Deployment", "ScalingReplicaSet", message,
                                       component=COMPONENT, api_version="apps/v1"))
            if _status_differs(deployment.get("status") or {}, plan.status):
                writer.patch("deployments", namespace, name, {"status": plan.status},
                             subresource="status")
