"""Deleting a batch/v1 Job without a propagation policy orphans its pods, with upstream's
warning; asking for Background takes them along."""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s

from nodelab.controlplane.registry.deletion import JOB_ORPHAN_WARNING
from tests.controlplane.apiserver import RunningApiServer


def job(name: str) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "c", "image": "busybox"}]}}}}


def owned_pod(owner: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"generateName": f"{owner.metadata.name}-", "ownerReferences": [
                {"apiVersion": "batch/v1", "kind": "Job", "name": owner.metadata.name,
                 "uid": owner.metadata.uid, "controller": True}]},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def test_jobs_orphan_their_pods_by_default_with_a_warning(apiserver: RunningApiServer) -> None:
    api = apiserver.client()
    batch, core = k8s.BatchV1Api(api), k8s.CoreV1Api(api)
    kept = batch.create_namespaced_job("default", job("kept"))
    pod = core.create_namespaced_pod("default", owned_pod(kept))
    _, code, headers = batch.delete_namespaced_job_with_http_info("kept", "default")
    assert code == 200 and JOB_ORPHAN_WARNING in headers.get("Warning", "")
    left = core.read_namespaced_pod(pod.metadata.name, "default")
    assert not left.metadata.owner_references

    gone = batch.create_namespaced_job("default", job("gone"))
    pod = core.create_namespaced_pod("default", owned_pod(gone))
    _, _, headers = batch.delete_namespaced_job_with_http_info(
        "gone", "default", propagation_policy="Background")
    assert "Warning" not in headers
    names = [p.metadata.name for p in core.list_namespaced_pod("default").items]
    assert pod.metadata.name not in names
