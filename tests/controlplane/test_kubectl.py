"""Real kubectl against the embedded API server: the verbs a learner types."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.controlplane.apiserver import RunningApiServer

POD = """
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: c
    image: registry.local/busybox:1.36
    command: ["sleep", "3600"]
    ports: [{containerPort: 80}]
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers:
      - {name: c, image: busybox:1.36}
---
apiVersion: v1
kind: Service
metadata: {name: shop}
spec:
  type: NodePort
  selector: {app: shop}
  ports: [{port: 80, targetPort: 8080}]
"""


def test_version_has_no_skew_warning(apiserver: RunningApiServer) -> None:
    result = apiserver.kubectl("version")
    assert "Server Version: v1.37" in result.stdout
    assert "WARNING" not in result.stderr


def test_default_namespaces_and_kubernetes_service(apiserver: RunningApiServer) -> None:
    names = {n["metadata"]["name"] for n in apiserver.kubectl_json("get", "ns")["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    svc = apiserver.kubectl_json("get", "svc", "kubernetes")
    assert svc["spec"]["clusterIP"] == "10.96.0.1"
    sa = apiserver.kubectl_json("get", "sa", "default")
    assert sa["metadata"]["name"] == "default"


def test_create_get_describe_label_annotate_delete_pod(apiserver: RunningApiServer) -> None:
    apiserver.kubectl("create", "-f", "-", input=POD)
    pod = apiserver.kubectl_json("get", "pod", "web")
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert pod["spec"]["restartPolicy"] == "Always"
    assert pod["status"]["phase"] == "Pending"
    as_yaml = yaml.safe_load(apiserver.kubectl("get", "pod", "web", "-o", "yaml").stdout)
    assert as_yaml["metadata"]["uid"] == pod["metadata"]["uid"]
    wide = apiserver.kubectl("get", "pods", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                               "NOMINATED", "NODE", "READINESS", "GATES"]
    assert wide[1].split()[:3] == ["web", "0/1", "Pending"]
    apiserver.kubectl("label", "pod", "web", "tier=front")
    apiserver.kubectl("annotate", "pod", "web", "note=hello")
    described = apiserver.kubectl("describe", "pod", "web").stdout
    assert "tier=front" in described and "note: hello" in described
    assert "/var/run/secrets/kubernetes.io/serviceaccount" in described
    again = apiserver.kubectl("create", "-f", "-", input=POD, check=False)
    assert again.returncode != 0 and "AlreadyExists" in again.stderr
    apiserver.kubectl("delete", "pod", "web")
    apiserver.kubectl("wait", "--for=delete", "pod/web", "--timeout=10s")
    gone = apiserver.kubectl("get", "pod", "web", check=False)
    assert "NotFound" in gone.stderr


def test_apply_client_and_server_side(apiserver: RunningApiServer) -> None:
    first = apiserver.kubectl("apply", "-f", "-", input=DEPLOYMENT).stdout
    assert "deployment.apps/shop created" in first and "service/shop created" in first
    again = apiserver.kubectl("apply", "-f", "-", input=DEPLOYMENT).stdout
    assert "deployment.apps/shop unchanged" in again
    changed = DEPLOYMENT.replace("replicas: 2", "replicas: 3")
    apiserver.kubectl("apply", "-f", "-", input=changed)
    assert apiserver.kubectl_json("get", "deploy", "shop")["spec"]["replicas"] == 3
    server_side = DEPLOYMENT.replace("replicas: 2", "replicas: 4")
    out = apiserver.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-",
                            input=server_side).stdout
    assert "serverside-applied" in out
    deploy = apiserver.kubectl_json("get", "deploy", "shop", "--show-managed-fields")
    assert deploy["spec"]["replicas"] == 4
    assert any(m["manager"] == "kubectl" and m["operation"] == "Apply"
               for m in deploy["metadata"]["managedFields"])
    assert deploy["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == "25%"
    svc = apiserver.kubectl_json("get", "svc", "shop")
    assert 30000 <= svc["spec"]["ports"][0]["nodePort"] <= 32767
    assert svc["spec"]["clusterIP"].startswith("10.96.")


def test_server_side_apply_creates(apiserver: RunningApiServer) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {a: '1'}\n"
    out = apiserver.kubectl("apply", "--server-side", "-f", "-", input=cm).stdout
    assert "configmap/ssa serverside-applied" in out
    assert apiserver.kubectl_json("get", "cm", "ssa")["data"] == {"a": "1"}


def test_wide_columns(apiserver: RunningApiServer) -> None:
    apiserver.kubectl("apply", "-f", "-", input=DEPLOYMENT)
    deploy = apiserver.kubectl("get", "deploy", "-o", "wide").stdout.splitlines()
    assert deploy[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE",
                                 "CONTAINERS", "IMAGES", "SELECTOR"]
    svc = apiserver.kubectl("get", "svc", "-o", "wide").stdout
    assert "CLUSTER-IP" in svc.splitlines()[0] and "80:3" in svc and "app=shop" in svc
    nodes = apiserver.kubectl("get", "nodes", "-o", "wide")
    assert nodes.returncode == 0


def test_patch_kinds_and_scale(apiserver: RunningApiServer) -> None:
    apiserver.kubectl("apply", "-f", "-", input=DEPLOYMENT)
    apiserver.kubectl("patch", "deploy", "shop", "--type=json",
                      "-p", '[{"op":"replace","path":"/spec/replicas","value":1}]')
    apiserver.kubectl("patch", "deploy", "shop", "--type=merge",
                      "-p", '{"metadata":{"labels":{"merged":"yes"}}}')
    apiserver.kubectl("patch", "deploy", "shop", "-p", json.dumps({"spec": {"template": {
        "spec": {"containers": [{"name": "side", "image": "busybox:1.36"}]}}}}))
    deploy = apiserver.kubectl_json("get", "deploy", "shop")
    assert deploy["spec"]["replicas"] == 1
    assert deploy["metadata"]["labels"]["merged"] == "yes"
    names = [c["name"] for c in deploy["spec"]["template"]["spec"]["containers"]]
    assert names == ["c", "side"], "strategic merge merges containers by name"
    apiserver.kubectl("scale", "deploy", "shop", "--replicas=6")
    assert apiserver.kubectl_json("get", "deploy", "shop")["spec"]["replicas"] == 6


def test_api_resources_and_explain(apiserver: RunningApiServer) -> None:
    resources = apiserver.kubectl("api-resources").stdout
    for line in ("pods", "po", "deployments", "deploy", "endpointslices", "leases"):
        assert line in resources
    explained = apiserver.kubectl("explain", "pod.spec.containers").stdout
    assert "FIELD: containers <[]Container>" in explained and "image" in explained
    explained = apiserver.kubectl("explain", "deployment.spec.strategy").stdout
    assert "rollingUpdate" in explained


def test_unknown_field_strict_is_rejected(apiserver: RunningApiServer) -> None:
    bad = POD.replace("name: web", "name: strict").replace(
        "image:", "imagePullPolcy: x\n    image:")
    result = apiserver.kubectl("create", "--validate=strict", "-f", "-", input=bad, check=False)
    assert result.returncode != 0
    assert 'unknown field "spec.containers[0].imagePullPolcy"' in result.stderr
    warned = apiserver.kubectl("create", "--validate=warn", "-f", "-", input=bad)
    assert "imagePullPolcy" in warned.stderr
    apiserver.kubectl("delete", "pod", "strict")


def test_get_events_for_describe(apiserver: RunningApiServer) -> None:
    event = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "ev1"},
        "involvedObject": {"kind": "Pod", "name": "ghost", "namespace": "default"},
        "reason": "Testing", "message": "hello from a test", "type": "Normal",
    }
    apiserver.kubectl("create", "-f", "-", input=json.dumps(event))
    listed = apiserver.kubectl("get", "events").stdout
    assert "Testing" in listed and "pod/ghost" in listed
    selected = apiserver.kubectl_json("get", "events",
                                      "--field-selector", "involvedObject.name=ghost")
    assert [e["metadata"]["name"] for e in selected["items"]] == ["ev1"]
    new_api = apiserver.kubectl_json("get", "events.v1.events.k8s.io", "ev1")
    assert new_api["note"] == "hello from a test"
    assert new_api["regarding"]["name"] == "ghost"


def test_delete_namespace_removes_contents(apiserver: RunningApiServer) -> None:
    apiserver.kubectl("create", "namespace", "nl-doomed")
    apiserver.kubectl("-n", "nl-doomed", "create", "configmap", "c1", "--from-literal=a=b")
    apiserver.kubectl("-n", "nl-doomed", "create", "quota", "q", "--hard=pods=1")
    apiserver.kubectl("-n", "nl-doomed", "apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr"},
        "spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}}]}}))
    apiserver.kubectl("delete", "namespace", "nl-doomed", "--timeout=20s")
    result = apiserver.kubectl("get", "ns", "nl-doomed", check=False)
    assert "NotFound" in result.stderr
    left = apiserver.kubectl("get", "quota,limits", "-A", "-o",
                             "jsonpath={.items[*].metadata.namespace}").stdout
    assert "nl-doomed" not in left.split()


def test_server_side_apply_removes_what_it_no_longer_applies(apiserver: RunningApiServer
                                                             ) -> None:
    full = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owned, labels: {a: '1', b: '2'}}"
            "\ndata: {x: '1', y: '2'}\n")
    apiserver.kubectl("apply", "--server-side", "-f", "-", input=full)
    apiserver.kubectl("label", "configmap", "owned", "other=kept")
    smaller = full.replace(", b: '2'", "").replace(", y: '2'", "")
    apiserver.kubectl("apply", "--server-side", "-f", "-", input=smaller)
    cm = apiserver.kubectl_json("get", "configmap", "owned")
    assert cm["data"] == {"x": "1"}
    assert cm["metadata"]["labels"] == {"a": "1", "other": "kept"}


def test_debug_set_and_status_subresource(apiserver: RunningApiServer) -> None:
    apiserver.kubectl("run", "dbg-target", "--image=busybox")
    apiserver.kubectl("debug", "dbg-target", "--image=busybox", "-c", "dbg", "--attach=false")
    pod = apiserver.kubectl_json("get", "pod", "dbg-target")
    assert [c["name"] for c in pod["spec"]["ephemeralContainers"]] == ["dbg"]
    apiserver.kubectl("patch", "pod", "dbg-target", "--subresource=status", "--type=merge",
                      "-p", '{"status":{"phase":"Running"}}')
    status = apiserver.kubectl_json("get", "pod", "dbg-target", "--subresource=status")
    assert status["status"]["phase"] == "Running"
    apiserver.kubectl("apply", "-f", "-", input=DEPLOYMENT)
    apiserver.kubectl("set", "env", "deploy/shop", "MODE=test")
    apiserver.kubectl("set", "resources", "deploy/shop", "--limits=cpu=200m")
    container = apiserver.kubectl_json("get", "deploy", "shop")["spec"]["template"]["spec"][
        "containers"][0]
    assert container["env"] == [{"name": "MODE", "value": "test"}]
    assert container["resources"] == {"limits": {"cpu": "200m"}}


def test_aggregated_discovery(apiserver: RunningApiServer, tmp_path: Path) -> None:
    result = apiserver.kubectl("api-resources", "-v=6", f"--cache-dir={tmp_path}")
    asked = [line.split('url="')[1].split("?")[0] for line in result.stderr.splitlines()
             if 'verb="GET"' in line and 'url="' in line]
    assert [url.rsplit("/", 1)[1] for url in asked] == ["api", "apis"], asked
    assert "replicasets" in result.stdout and "endpointslices" in result.stdout


def test_server_side_apply_conflicts_and_field_managers(apiserver: RunningApiServer) -> None:
    config = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: contested}\n"
              "data: {mode: a, other: x}\n")
    apiserver.kubectl("apply", "--server-side", "-f", "-", input=config)
    apiserver.kubectl("patch", "configmap", "contested", "--type=merge",
                      "-p", '{"data":{"mode":"b"}}', "--field-manager=operator")
    cm = apiserver.kubectl_json("get", "configmap", "contested", "--show-managed-fields")
    managers = {(m["manager"], m["operation"]): m["fieldsV1"]
                for m in cm["metadata"]["managedFields"]}
    assert managers[("operator", "Update")] == {"f:data": {"f:mode": {}}}
    assert managers[("kubectl", "Apply")] == {"f:data": {"f:other": {}}}
    refused = apiserver.kubectl("apply", "--server-side", "-f", "-", input=config, check=False)
    assert refused.returncode != 0
    assert 'conflict with "operator"' in refused.stderr and ".data.mode" in refused.stderr
    same_value = config.replace("mode: a", "mode: b")
    apiserver.kubectl("apply", "--server-side", "-f", "-", input=same_value)
    apiserver.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=config)
    assert apiserver.kubectl_json("get", "configmap", "contested")["data"]["mode"] == "a"
