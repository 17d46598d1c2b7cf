"""Cluster DNS as a real cluster runs it: a `coredns` Deployment in kube-system behind the
`kube-dns` Service at 10.96.0.10, from an image in the lab's registry, run by the lab's kubelets.

The objects follow kubeadm's CoreDNS add-on: the names, the `system:coredns` ClusterRole
(list/watch of Services, EndpointSlices, Endpoints, Pods, Namespaces) bound to the `coredns`
service account, the `k8s-app: kube-dns` label, ports 53/UDP `dns` and 53/TCP `dns-tcp` (not
9153 `metrics`: nodelab's server has no metrics endpoint), the liveness probe on :8080/health
and readiness on :8181/ready, `dnsPolicy: Default` so the DNS pod does not resolve through
itself, `priorityClassName: system-cluster-critical`, the critical-addons toleration. The
program is nodelab's own (`nodelab.addons.dns`), built into the add-on image (`image.py`); the
kubelets are told `clusterDNS: [10.96.0.10]` and `clusterDomain: cluster.local`, so every
ClusterFirst pod's resolv.conf points at the Service, and queries reach the server through
kube-proxy's UDP/TCP DNAT as on a real node.

`dns_objects` is the plan (pure); `DeployClusterDNS`, a step of `up`, pushes the image, creates
or replaces the objects, waits until the Service has a ready endpoint, then until 10.96.0.10
answers a query from every node's network namespace (each node's kube-proxy applies the
endpoint in its next sync, up to a second after the API shows it; a query sent before that is
lost), so `nslookup` works as soon as `up` returns. A joined lab uses its cluster's own DNS
and gets none of this.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from dnslib import DNSRecord
from kubernetes import config
from kubernetes.client.exceptions import ApiException

from nodelab.controlplane.registry.allocation import DNS_SERVICE_IP
from nodelab.errors import NodelabError
from nodelab.host.netlink import netns_path
from nodelab.host.thread_netns import thread_in_netns
from nodelab.kube.rest import Rest
from nodelab.lab.addons.image import addon_image
from nodelab.lab.context import LabContext
from nodelab.lab.registry.credentials import push_client
from nodelab.oci.push import push_image

__all__ = ["CLUSTER_DOMAIN", "DNS_SERVICE_IP", "DeployClusterDNS", "create_or_update",
           "dns_objects"]

CLUSTER_DOMAIN = "cluster.local"
NAMESPACE = "kube-system"
IMAGE_NAME = "nodelab/addons"
READY_TIMEOUT = 90.0
LABELS = {"k8s-app": "kube-dns"}
PROBE_NAME = "kubernetes.default.svc.cluster.local"


def dns_objects(image: str, replicas: int = 1) -> list[tuple[str, dict[str, Any]]]:
    """(resource, object) for the RBAC, ServiceAccount, Deployment and Service of cluster DNS."""
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:coredns"},
            "rules": [{"apiGroups": [""], "resources": ["endpoints", "services", "pods",
                                                        "namespaces"],
                       "verbs": ["list", "watch"]},
                      {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
                       "verbs": ["list", "watch"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "system:coredns"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": "system:coredns"},
               "subjects": [{"kind": "ServiceAccount", "name": "coredns",
                             "namespace": NAMESPACE}]}
    account = {"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": "coredns", "namespace": NAMESPACE}}
    probe = {"periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 5}
    container = {
        "name": "coredns", "image": image, "imagePullPolicy": "IfNotPresent",
        "args": ["nodelab.addons.dns", "--domain", CLUSTER_DOMAIN],
        "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                  {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                  {"name": "liveness-probe", "containerPort": 8080, "protocol": "TCP"},
                  {"name": "readiness-probe", "containerPort": 8181, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "100m", "memory": "70Mi"},
                      "limits": {"memory": "170Mi"}},
        "livenessProbe": {"httpGet": {"path": "/health", "port": "liveness-probe"},
                          "initialDelaySeconds": 60, "successThreshold": 1, **probe},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "readiness-probe"},
                           "periodSeconds": 1, "timeoutSeconds": 1, "failureThreshold": 3},
    }
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": NAMESPACE, "labels": dict(LABELS)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(LABELS)},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
            "template": {
                "metadata": {"labels": dict(LABELS)},
                "spec": {
                    "priorityClassName": "system-cluster-critical",
                    "serviceAccountName": "coredns",
                    "dnsPolicy": "Default",
                    "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                                    {"key": "node-role.kubernetes.io/control-plane",
                                     "effect": "NoSchedule"}],
                    "containers": [container],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": NAMESPACE,
                     "labels": {**LABELS, "kubernetes.io/name": "CoreDNS"}},
        "spec": {"selector": dict(LABELS), "clusterIP": DNS_SERVICE_IP,
                 "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                           {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]},
    }
    return [("clusterroles", role), ("clusterrolebindings", binding),
            ("serviceaccounts", account), ("deployments", deployment), ("services", service)]


def create_or_update(rest: Rest, resource: str, obj: dict[str, Any]) -> None:
    """Create the object; one that exists is kept (a Deployment or DaemonSet gets the new spec:
    another nodelab's image rolls its pods; a ConfigMap its new data). Looked up first:
    creating a Service whose cluster IP is taken fails on the IP (422) before the name (409),
    as upstream."""
    name, namespace = obj["metadata"]["name"], obj["metadata"].get("namespace")
    try:
        rest.get(resource, namespace, name)
    except ApiException as exc:
        if exc.status != 404:
            raise
        rest.create(resource, namespace, obj)
        return
    if resource in ("deployments", "daemonsets"):
        rest.patch(resource, namespace, name, {"spec": obj["spec"]})
    elif resource == "configmaps":
        rest.patch(resource, namespace, name, {"data": obj["data"]})


def dns_slices(rest: Rest) -> list[dict[str, Any]]:
    found = rest.request("GET", f"/apis/discovery.k8s.io/v1/namespaces/{NAMESPACE}/"
                                "endpointslices?labelSelector=kubernetes.io/service-name=kube-dns")
    return list(found.get("items") or [])


def ready_endpoints(rest: Rest) -> int:
    return sum(1 for s in dns_slices(rest) for e in s.get("endpoints") or []
               if (e.get("conditions") or {}).get("ready"))


def what_dns_has(slices: list[dict[str, Any]], pods: list[dict[str, Any]]) -> str:
    """The kube-dns Service's endpoints and the DNS pods as the API shows them, for an error:
    which part of cluster DNS is late (no pod, a pod not ready or restarting, an endpoint still
    holding an address the pod no longer has)."""
    endpoints = [f"{','.join(e.get('addresses') or ['?'])} "
                 f"{'ready' if (e.get('conditions') or {}).get('ready') else 'not ready'}"
                 f"{' (' + e['targetRef']['name'] + ')' if e.get('targetRef') else ''}"
                 for s in slices for e in s.get("endpoints") or []]
    described = []
    for pod in pods:
        status = pod.get("status") or {}
        ready = next((c.get("status") for c in status.get("conditions") or []
                      if c.get("type") == "Ready"), "Unknown")
        restarts = sum(int(c.get("restartCount") or 0)
                       for c in status.get("containerStatuses") or [])
        node = (pod.get("spec") or {}).get("nodeName") or "no node"
        described.append(f"{pod['metadata']['name']} on {node}: "
                         f"{status.get('phase') or 'Unknown'}, Ready {ready}, "
                         f"IP {status.get('podIP') or 'none'}, {restarts} restarts")
    return (f"kube-dns endpoints: {'; '.join(endpoints) or 'none'}; "
            f"DNS pods: {'; '.join(described) or 'none'}")


def answers_from(netns: str, timeout: float = 0.5) -> bool:
    """Whether 10.96.0.10 answers an A query sent from the network namespace `netns` (a node's:
    its kube-proxy's DNAT to a ready DNS pod is in place)."""
    with thread_in_netns(str(netns_path(netns))):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # it stays in that namespace
    query = DNSRecord.question(PROBE_NAME, "A").pack()
    try:
        sock.settimeout(timeout)
        sock.sendto(query, (DNS_SERVICE_IP, 53))
        while sock.recv(4096)[:2] != query[:2]:
            pass
        return True
    except OSError:  # socket.timeout included
        return False
    finally:
        sock.close()


class DeployClusterDNS:
    """Step of `up`: cluster DNS running and ready behind 10.96.0.10."""

    name = "cluster DNS"

    def __init__(self, timeout: float = READY_TIMEOUT) -> None:
        self.timeout = timeout

    def execute(self, ctx: LabContext) -> None:
        registry = ctx.topology.registry
        image = addon_image()
        digest = push_image(push_client(ctx), IMAGE_NAME, "1.0", image)
        reference = f"{registry}/{IMAGE_NAME}@{digest}"
        api = config.new_client_from_config(str(ctx.paths.kubeconfig))  # type: ignore[no-untyped-call]
        rest = Rest(api)
        for resource, obj in dns_objects(reference):
            create_or_update(rest, resource, obj)
        deadline = time.monotonic() + self.timeout
        while ready_endpoints(rest) == 0:
            if time.monotonic() > deadline:
                raise NodelabError(
                    f"cluster DNS not ready after {self.timeout:.0f}s ({self.seen(rest)}): see "
                    f"`kubectl -n kube-system describe pods -l k8s-app=kube-dns` and its logs "
                    f"(`kubectl -n kube-system logs -l k8s-app=kube-dns`)")
            time.sleep(0.25)
        for node in ctx.topology.nodes:
            while not answers_from(node.netns):
                if time.monotonic() > deadline:
                    raise NodelabError(
                        f"cluster DNS has a ready endpoint but {DNS_SERVICE_IP} does not answer "
                        f"from {node.name} after {self.timeout:.0f}s ({self.seen(rest)}): see "
                        f"the DNS pod's node's kubelet and runtime logs in {ctx.paths.logs}, "
                        f"{node.name}'s kube-proxy log (`nodelab status`) and `iptables-save "
                        f"-t nat` in {node.netns}")
        ctx.progress(f"kube-dns {DNS_SERVICE_IP}: ready ({reference.rsplit('@', 1)[1][:19]})")

    @staticmethod
    def seen(rest: Rest) -> str:
        """What the API shows of cluster DNS, for a timeout's error."""
        try:
            pods = rest.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods?labelSelector="
                                       "k8s-app=kube-dns").get("items") or []
            return what_dns_has(dns_slices(rest), list(pods))
        except Exception as exc:  # the error it is for says more than this one
            return f"the API server did not say what kube-dns has: {exc}"
