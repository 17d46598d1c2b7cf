"""Deleting a batch/v1 Job without a propagation policy orphans its pods, with upstream's
warning; asking for Background takes them along."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from nodelab.controlplane.errors import ApiError
from nodelab.controlplane.registry.deletion import JOB_ORPHAN_WARNING, delete_options
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


@pytest.mark.unit
@pytest.mark.parametrize(("body", "query", "expected"), [
    ({"propagationPolicy": "Sideways"}, {}, [
        'propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", '
        '"Background", "Orphan", "nil"']),
    ({}, {"propagationPolicy": "Sideways"}, [
        'propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", '
        '"Background", "Orphan", "nil"']),
    ({"orphanDependents": True, "propagationPolicy": "Background"}, {}, [
        'propagationPolicy: Invalid value: "Background": orphanDependents and '
        "deletionPropagation cannot be both set"]),
    ({}, {"orphanDependents": "false", "propagationPolicy": "Orphan"}, [
        'propagationPolicy: Invalid value: "Orphan": orphanDependents and '
        "deletionPropagation cannot be both set"]),
    ({"dryRun": ["Some"]}, {}, ['dryRun: Unsupported value: ["Some"]: supported values: "All"']),
    ({}, {"dryRun": "true"}, ['dryRun: Unsupported value: ["true"]: supported values: "All"']),
])
def test_bad_delete_options_are_refused_as_upstream(body: dict[str, Any], query: dict[str, str],
                                                    expected: list[str]) -> None:
    with pytest.raises(ApiError) as caught:
        delete_options(body, query)
    assert caught.value.code == 422
    assert [c["field"] + ": " + c["message"] for c in caught.value.details["causes"]] == expected


@pytest.mark.unit
@pytest.mark.parametrize(("body", "query", "expected"), [
    ({"orphanDependents": True}, {}, {"orphanDependents": True, "propagationPolicy": "Orphan"}),
    ({}, {"orphanDependents": "true"}, {"orphanDependents": True, "propagationPolicy": "Orphan"}),
    ({"gracePeriodSeconds": -5}, {}, {"gracePeriodSeconds": 1}),
    ({}, {"dryRun": "All"}, {"dryRun": ["All"]}),
    ({"propagationPolicy": "Foreground"}, {}, {"propagationPolicy": "Foreground"}),
])
def test_delete_options_as_upstream_completes_them(body: dict[str, Any], query: dict[str, str],
                                                   expected: dict[str, Any]) -> None:
    assert delete_options(body, query) == expected


def test_an_unknown_propagation_policy_deletes_nothing(apiserver: RunningApiServer) -> None:
    api = apiserver.client()
    batch = k8s.BatchV1Api(api)
    batch.create_namespaced_job("default", job("stays"))
    with pytest.raises(ApiException) as caught:
        batch.delete_namespaced_job("stays", "default", propagation_policy="Sideways")
    assert caught.value.status == 422
    assert json.loads(caught.value.body)["message"] == (
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
        '"Sideways": supported values: "Foreground", "Background", "Orphan", "nil"')
    assert batch.read_namespaced_job("stays", "default").metadata.deletion_timestamp is None
