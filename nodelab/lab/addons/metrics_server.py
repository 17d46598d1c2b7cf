"""metrics-server as upstream's manifests lay it out, so `kubectl top` works on every lab.

The objects are upstream's (`manifests/base` of kubernetes-sigs/metrics-server): the
`metrics-server` ServiceAccount; the ClusterRoles `system:metrics-server` (get `nodes/metrics`,
read pods and nodes) and `system:aggregated-metrics-reader` (metrics.k8s.io read, aggregated
into view/edit/admin); the bindings to them, to `system:auth-delegator` (create TokenReviews and
SubjectAccessReviews) and, in kube-system, to `extension-apiserver-authentication-reader`; the
`metrics-server` Service (443 -> `https`); the Deployment; and the APIService
`v1beta1.metrics.k8s.io`. The program is nodelab's (`nodelab.addons.metrics`), in the add-on
image with cluster DNS.

Differs from the manifests, and why:
- `hostNetwork: true` and `--secure-port=4443` (as kind setups of metrics-server do): the API
  server runs on the lab gateway, which reaches node IPs but not pod IPs, and the aggregation
  layer dials an endpoint of the Service; 4443 because the kubelet holds 10250 on the node;
- a serving certificate for `metrics-server.kube-system.svc` signed by the lab CA (a Secret
  mounted at /etc/metrics-server) and the APIService's `caBundle`, where upstream's manifest
  lets the server sign its own and sets `insecureSkipTLSVerify: true`;
- the readiness probe every 2 s from the start (upstream: 10 s after 20 s), so the APIService
  turns Available as soon as two scrapes are stored. As upstream's manifest, it runs as
  `system-cluster-critical`.

`metrics_objects` is the plan (pure); `DeployMetricsServer`, a step of `up`, creates the
objects and waits until the pod's container runs (not until it is ready: that takes two
scrapes, 15 s apart; `kubectl top` says "metrics not available yet" meanwhile, as on a real
cluster).
"""

from __future__ import annotations

import base64
import time
from typing import Any

from kubernetes import config

from nodelab.errors import NodelabError
from nodelab.kube.rest import Rest
from nodelab.lab.addons.cluster_dns import IMAGE_NAME, NAMESPACE, create_or_update
from nodelab.lab.addons.image import addon_image
from nodelab.lab.context import LabContext
from nodelab.lab.registry.credentials import push_client
from nodelab.lab.up.controlplane import lab_pki
from nodelab.oci.push import push_image

NAME = "metrics-server"
LABELS = {"k8s-app": NAME}
PORT = 4443
RESOLUTION = "15s"
RUNNING_TIMEOUT = 90.0
SERVICE_NAME = f"{NAME}.{NAMESPACE}.svc"
RBAC = "rbac.authorization.k8s.io"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _binding(kind: str, name: str, role_kind: str, role: str,
             namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": dict(LABELS)}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": metadata,
            "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]}


def _deployment(image: str) -> dict[str, Any]:
    probe = {"scheme": "HTTPS", "port": "https"}
    container = {
        "name": NAME, "image": image, "imagePullPolicy": "IfNotPresent",
        "args": ["nodelab.addons.metrics", f"--secure-port={PORT}",
                 "--tls-cert-file=/etc/metrics-server/tls.crt",
                 "--tls-private-key-file=/etc/metrics-server/tls.key",
                 "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
                 "--kubelet-use-node-status-port", f"--metric-resolution={RESOLUTION}"],
        "ports": [{"name": "https", "containerPort": PORT, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}},
        "readinessProbe": {"httpGet": {"path": "/readyz", **probe}, "periodSeconds": 2,
                           "failureThreshold": 3},
        "livenessProbe": {"httpGet": {"path": "/livez", **probe}, "periodSeconds": 10,
                          "failureThreshold": 3},
        "securityContext": {"readOnlyRootFilesystem": True, "runAsNonRoot": True,
                            "runAsUser": 1000, "allowPrivilegeEscalation": False,
                            "seccompProfile": {"type": "RuntimeDefault"},
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "tmp-dir", "mountPath": "/tmp"},
                         {"name": "tls", "mountPath": "/etc/metrics-server", "readOnly": True}],
    }
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
        "spec": {
            "selector": {"matchLabels": dict(LABELS)},
            "strategy": {"rollingUpdate": {"maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": dict(LABELS)},
                "spec": {
                    "serviceAccountName": NAME,
                    "priorityClassName": "system-cluster-critical",
                    "hostNetwork": True,
                    "volumes": [{"name": "tmp-dir", "emptyDir": {}},
                                {"name": "tls", "secret": {"secretName": f"{NAME}-tls"}}],
                    "containers": [container],
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                },
            },
        },
    }


def metrics_objects(image: str, cert: bytes, key: bytes, ca: bytes
                    ) -> list[tuple[str, dict[str, Any]]]:
    """(resource, object) of everything metrics-server needs, in creation order."""
    reader = {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole",
              "metadata": {"name": "system:aggregated-metrics-reader", "labels": {
                  **LABELS, f"{RBAC}/aggregate-to-view": "true",
                  f"{RBAC}/aggregate-to-edit": "true", f"{RBAC}/aggregate-to-admin": "true"}},
              "rules": [{"apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"],
                         "verbs": ["get", "list", "watch"]}]}
    role = {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:metrics-server", "labels": dict(LABELS)},
            "rules": [{"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
                      {"apiGroups": [""], "resources": ["pods", "nodes"],
                       "verbs": ["get", "list", "watch"]}]}
    account = {"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)}}
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
              "metadata": {"name": f"{NAME}-tls", "namespace": NAMESPACE,
                           "labels": dict(LABELS)},
              "data": {"tls.crt": _b64(cert), "tls.key": _b64(key)}}
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
               "spec": {"selector": dict(LABELS), "ports": [
                   {"name": "https", "port": 443, "protocol": "TCP", "targetPort": "https",
                    "appProtocol": "https"}]}}
    apiservice = {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                  "metadata": {"name": "v1beta1.metrics.k8s.io", "labels": dict(LABELS)},
                  "spec": {"service": {"name": NAME, "namespace": NAMESPACE, "port": 443},
                           "group": "metrics.k8s.io", "version": "v1beta1",
                           "caBundle": _b64(ca), "groupPriorityMinimum": 100,
                           "versionPriority": 100}}
    return [
        ("clusterroles", reader), ("clusterroles", role), ("serviceaccounts", account),
        ("rolebindings", _binding("RoleBinding", "metrics-server-auth-reader", "Role",
                                  "extension-apiserver-authentication-reader", NAMESPACE)),
        ("clusterrolebindings", _binding("ClusterRoleBinding",
                                         "metrics-server:system:auth-delegator",
                                         "ClusterRole", "system:auth-delegator")),
        ("clusterrolebindings", _binding("ClusterRoleBinding", "system:metrics-server",
                                         "ClusterRole", "system:metrics-server")),
        ("secrets", secret), ("services", service), ("deployments", _deployment(image)),
        ("apiservices", apiservice),
    ]


def running(rest: Rest) -> bool:
    pods = rest.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods?labelSelector=k8s-app%3D"
                               f"{NAME}")
    return any(s.get("state", {}).get("running")
               for p in pods.get("items") or []
               for s in (p.get("status") or {}).get("containerStatuses") or [])


class DeployMetricsServer:
    """Step of `up`: metrics-server's objects created and its container running."""

    name = "metrics server"

    def __init__(self, timeout: float = RUNNING_TIMEOUT) -> None:
        self.timeout = timeout

    def execute(self, ctx: LabContext) -> None:
        registry = ctx.topology.registry
        digest = push_image(push_client(ctx), IMAGE_NAME, "1.0", addon_image())
        pki = lab_pki(ctx)
        serving = pki.serving_credentials(NAME, NAME, [SERVICE_NAME], api_server_names=False)
        api = config.new_client_from_config(str(ctx.paths.kubeconfig))  # type: ignore[no-untyped-call]
        rest = Rest(api)
        for resource, obj in metrics_objects(f"{registry}/{IMAGE_NAME}@{digest}",
                                             serving.cert.read_bytes(),
                                             serving.key.read_bytes(),
                                             pki.ca_cert.read_bytes()):
            create_or_update(rest, resource, obj)
        deadline = time.monotonic() + self.timeout
        while not running(rest):
            if time.monotonic() > deadline:
                raise NodelabError(
                    f"metrics-server not running after {self.timeout:.0f}s: see `kubectl -n "
                    f"{NAMESPACE} describe pods -l k8s-app={NAME}` and its logs")
            time.sleep(0.25)
        ctx.progress("metrics-server: running (kubectl top answers after two scrapes, "
                     f"{RESOLUTION} apart)")
