"""The official client's list-everywhere function for each resource a reflector may watch, and
the one-namespace functions of those the kubelet watches object by object."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from kubernetes import client


def lister(api_client: client.ApiClient, kind: str) -> Callable[..., Any]:
    core = client.CoreV1Api(api_client)
    apps = client.AppsV1Api(api_client)
    functions: dict[str, Callable[..., Any]] = {
        "pods": core.list_pod_for_all_namespaces,
        "nodes": core.list_node,
        "namespaces": core.list_namespace,
        "services": core.list_service_for_all_namespaces,
        "endpoints": core.list_endpoints_for_all_namespaces,
        "replicationcontrollers": core.list_replication_controller_for_all_namespaces,
        "events": core.list_event_for_all_namespaces,
        "configmaps": core.list_config_map_for_all_namespaces,
        "secrets": core.list_secret_for_all_namespaces,
        "serviceaccounts": core.list_service_account_for_all_namespaces,
        "persistentvolumes": core.list_persistent_volume,
        "persistentvolumeclaims": core.list_persistent_volume_claim_for_all_namespaces,
        "storageclasses": client.StorageV1Api(api_client).list_storage_class,
        "endpointslices": client.DiscoveryV1Api(api_client).list_endpoint_slice_for_all_namespaces,
        "leases": client.CoordinationV1Api(api_client).list_lease_for_all_namespaces,
        "replicasets": apps.list_replica_set_for_all_namespaces,
        "deployments": apps.list_deployment_for_all_namespaces,
        "jobs": client.BatchV1Api(api_client).list_job_for_all_namespaces,
        "cronjobs": client.BatchV1Api(api_client).list_cron_job_for_all_namespaces,
        "daemonsets": apps.list_daemon_set_for_all_namespaces,
        "statefulsets": apps.list_stateful_set_for_all_namespaces,
        "controllerrevisions": apps.list_controller_revision_for_all_namespaces,
        "horizontalpodautoscalers":
            client.AutoscalingV2Api(api_client).list_horizontal_pod_autoscaler_for_all_namespaces,
        "poddisruptionbudgets":
            client.PolicyV1Api(api_client).list_pod_disruption_budget_for_all_namespaces,
        "certificatesigningrequests":
            client.CertificatesV1Api(api_client).list_certificate_signing_request,
        "networkpolicies":
            client.NetworkingV1Api(api_client).list_network_policy_for_all_namespaces,
    }
    return functions[kind]


def namespaced_lister(api_client: client.ApiClient, kind: str,
                      namespace: str) -> Callable[..., Any]:
    """List (or watch) `kind` in `namespace`: configMaps and secrets (the kubelet's managers
    watch each one its pods use, `kubelet/pods/object_watch.py`)."""
    core = client.CoreV1Api(api_client)
    functions: dict[str, Callable[..., Any]] = {
        "configmaps": core.list_namespaced_config_map,
        "secrets": core.list_namespaced_secret,
    }
    if kind not in functions:
        raise ValueError(f"no namespaced lister for {kind!r}: only configmaps and secrets")
    return functools.partial(functions[kind], namespace)
