"""Kubernetes objects shaped as the API serves them (`kubectl get -o json`), for the static
forms of the views while the kubelet and the embedded API server are not there to make them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

T0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)


def ts(seconds: float, micro: bool = False) -> str:
    moment = T0 + timedelta(seconds=seconds)
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def node(name: str = "node1", ready: str = "True", heartbeat: float = 290) -> dict[str, Any]:
    return {
        "kind": "Node",
        "metadata": {"name": name, "creationTimestamp": ts(0),
                     "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
        "spec": {"podCIDR": "10.244.1.0/24",
                 "taints": [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]},
        "status": {
            "capacity": {"cpu": "2", "memory": "24586044Ki", "pods": "110",
                         "ephemeral-storage": "50Gi"},
            "allocatable": {"cpu": "1900m", "memory": "24483644Ki", "pods": "110",
                            "ephemeral-storage": "45Gi"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False",
                 "reason": "KubeletHasSufficientMemory",
                 "lastHeartbeatTime": ts(heartbeat), "lastTransitionTime": ts(1)},
                {"type": "Ready", "status": ready, "reason": "KubeletReady",
                 "message": "kubelet is posting ready status",
                 "lastHeartbeatTime": ts(heartbeat), "lastTransitionTime": ts(3)},
            ],
            "addresses": [{"type": "InternalIP", "address": "172.29.5.11"},
                          {"type": "Hostname", "address": name}],
            "nodeInfo": {"kubeletVersion": "v1.37.0-nodelab", "osImage": "Debian GNU/Linux 12",
                         "containerRuntimeVersion": "nodelab://0.1.0", "kernelVersion": "6.18",
                         "architecture": "amd64", "operatingSystem": "linux",
                         "bootID": "b0", "machineID": "m0", "systemUUID": "s0",
                         "kubeProxyVersion": ""},
        },
    }


def lease(name: str = "node1", renewed: float = 295) -> dict[str, Any]:
    return {
        "kind": "Lease",
        "metadata": {"name": name, "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                 "renewTime": ts(renewed, micro=True)},
    }


def pod(name: str = "web", node_name: str = "node1", phase: str = "Running",
        restarts: int = 1) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": ts(10),
                     "labels": {"app": name}},
        "spec": {"nodeName": node_name, "containers": [{"name": "app", "image": "web:1.0"}]},
        "status": {
            "phase": phase, "podIP": "10.244.1.2", "qosClass": "Burstable", "startTime": ts(12),
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": ts(11)},
                {"type": "Initialized", "status": "True", "lastTransitionTime": ts(12)},
                {"type": "Ready", "status": "True", "lastTransitionTime": ts(30)},
            ],
            "containerStatuses": [{
                "name": "app", "image": "web:1.0", "imageID": "", "ready": True,
                "restartCount": restarts,
                "state": {"running": {"startedAt": ts(25)}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                                             "startedAt": ts(14), "finishedAt": ts(20)}},
            }],
        },
    }


def event(reason: str, at: float, message: str, pod_name: str = "web",
          kind: str = "Normal") -> dict[str, Any]:
    return {
        "kind": "Event",
        "metadata": {"name": f"{pod_name}.{reason.lower()}", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": pod_name, "namespace": "default"},
        "reason": reason, "message": message, "type": kind, "count": 1,
        "firstTimestamp": ts(at), "lastTimestamp": ts(at),
    }


def service(name: str = "web") -> dict[str, Any]:
    return {
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "selector": {"app": name},
                 "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]},
    }


def probed_pod(ready: bool = True, restarts: int = 0) -> dict[str, Any]:
    made = pod(restarts=restarts)
    made["spec"]["containers"][0]["livenessProbe"] = {
        "httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5,
        "failureThreshold": 3}
    made["spec"]["containers"][0]["readinessProbe"] = {
        "exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 2}
    made["status"]["containerStatuses"][0]["ready"] = ready
    return made


def unhealthy(count: int, probe: str = "Liveness") -> dict[str, Any]:
    made = event("Unhealthy", 40, f"{probe} probe failed: HTTP probe failed with statuscode: 500",
                 kind="Warning")
    made["count"] = count
    made["involvedObject"]["fieldPath"] = "spec.containers{app}"
    return made
