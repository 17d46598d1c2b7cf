"""Real kubectl moves a learner makes, each asserting what a real v1.37 cluster answers.

One API server process with its controllers (`--controllers`: deployments, ReplicaSets, ...)
for the module; no kubelets, so pods stay Pending. Each test names the kubectl moves it covers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.controlplane.apiserver import RunningApiServer, running_apiserver

NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "learner-node"}}

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: roll}
spec:
  replicas: 1
  selector: {matchLabels: {app: roll}}
  template:
    metadata: {labels: {app: roll}}
    spec:
      containers:
      - {name: c, image: busybox:1.36}
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[RunningApiServer]:
    with running_apiserver("--controllers") as server:
        yield server


def _wait_for(what: str, check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_taint_add_and_remove(cluster: RunningApiServer) -> None:
    """kubectl taint node N k=v:NoSchedule, then N k:NoSchedule- removes exactly that taint."""
    cluster.kubectl("create", "-f", "-", input=json.dumps(NODE))
    cluster.kubectl("taint", "node", "learner-node", "a=1:NoSchedule")
    cluster.kubectl("taint", "node", "learner-node", "b=2:NoExecute")
    taints = cluster.kubectl_json("get", "node", "learner-node")["spec"]["taints"]
    assert {(t["key"], t["effect"]) for t in taints} == {("a", "NoSchedule"), ("b", "NoExecute")}
    out = cluster.kubectl("taint", "node", "learner-node", "a:NoSchedule-").stdout
    assert "node/learner-node untainted" in out
    taints = cluster.kubectl_json("get", "node", "learner-node")["spec"]["taints"]
    assert [(t["key"], t["effect"]) for t in taints] == [("b", "NoExecute")]
    cluster.kubectl("taint", "node", "learner-node", "b-")
    assert "taints" not in cluster.kubectl_json("get", "node", "learner-node")["spec"]


def test_cordon_and_uncordon(cluster: RunningApiServer) -> None:
    """kubectl cordon / uncordon (a strategic merge patch of spec.unschedulable)."""
    cluster.kubectl("create", "-f", "-", input=json.dumps(
        {**NODE, "metadata": {"name": "cordoned"}}))
    assert "cordoned" in cluster.kubectl("cordon", "cordoned").stdout
    assert cluster.kubectl_json("get", "node", "cordoned")["spec"]["unschedulable"] is True
    assert "uncordoned" in cluster.kubectl("uncordon", "cordoned").stdout
    assert "unschedulable" not in cluster.kubectl_json("get", "node", "cordoned")["spec"]


def _revision(obj: dict[str, Any]) -> str:
    return str((obj["metadata"].get("annotations") or {}).get(
        "deployment.kubernetes.io/revision", ""))


def test_rollout_history_and_undo(cluster: RunningApiServer) -> None:
    """kubectl set image, rollout history, rollout undo (a JSON patch of the template and
    the annotations), and the rolled-back ReplicaSet taking the next revision."""
    cluster.kubectl("apply", "-f", "-", input=DEPLOYMENT)
    _wait_for("revision 1", lambda: _revision(cluster.kubectl_json(
        "get", "deploy", "roll")) == "1")
    cluster.kubectl("set", "image", "deploy/roll", "c=busybox:1.37")
    _wait_for("revision 2", lambda: _revision(cluster.kubectl_json(
        "get", "deploy", "roll")) == "2")
    history = cluster.kubectl("rollout", "history", "deploy/roll").stdout
    assert "REVISION" in history and "1 " in history and "2 " in history
    out = cluster.kubectl("rollout", "undo", "deploy/roll").stdout
    assert "deployment.apps/roll rolled back" in out
    deploy = cluster.kubectl_json("get", "deploy", "roll")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.36"
    _wait_for("revision 3", lambda: _revision(cluster.kubectl_json(
        "get", "deploy", "roll")) == "3")
    sets = cluster.kubectl_json("get", "rs", "-l", "app=roll")["items"]
    assert sorted(_revision(rs) for rs in sets) == ["2", "3"]


def test_patch_types_on_a_configmap(cluster: RunningApiServer) -> None:
    """kubectl patch --type=json (with a failing `test`), --type=merge, strategic."""
    cluster.kubectl("create", "configmap", "patched", "--from-literal=a=1")
    cluster.kubectl("patch", "cm", "patched", "--type=json", "-p",
                    '[{"op":"test","path":"/data/a","value":"1"},'
                    '{"op":"add","path":"/data/b","value":"2"}]')
    failed = cluster.kubectl("patch", "cm", "patched", "--type=json", "-p",
                             '[{"op":"test","path":"/data/a","value":"9"}]', check=False)
    assert failed.returncode != 0 and "test" in failed.stderr
    cluster.kubectl("patch", "cm", "patched", "--type=merge", "-p", '{"data":{"a":null}}')
    assert cluster.kubectl_json("get", "cm", "patched")["data"] == {"b": "2"}


def test_wrong_json_type_is_a_bad_request(cluster: RunningApiServer) -> None:
    """A list where an object belongs: upstream's strict decoding refuses it (400)."""
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "typed"},
           "data": ["not", "a", "map"]}
    result = cluster.kubectl("create", "-f", "-", input=json.dumps(bad), check=False)
    assert result.returncode != 0
    assert ('ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot '
            'unmarshal array into Go struct field ConfigMap.data of type map[string]string'
            ) in result.stderr


def test_unknown_kind_has_no_matches(cluster: RunningApiServer) -> None:
    """kubectl apply of a kind no group serves: kubectl reads /openapi/v2 (protobuf) to
    decide on validation, then says what it says against any cluster without that kind."""
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
    for verb in (("apply",), ("create",), ("apply", "--validate=strict")):
        result = cluster.kubectl(*verb, "-f", "-", input=widget, check=False)
        assert result.returncode != 0
        assert ('no matches for kind "Widget" in version "example.com/v1"'
                in result.stderr), result.stderr
    core_widget = "apiVersion: v1\nkind: Widget\nmetadata: {name: w}\n"
    for verb in (("apply",), ("apply", "--validate=false")):
        result = cluster.kubectl(*verb, "-f", "-", input=core_widget, check=False)
        assert result.returncode != 0
        assert 'no matches for kind "Widget" in version "v1"' in result.stderr, result.stderr
    missing = cluster.kubectl("get", "widgets", check=False)
    assert 'the server doesn\'t have a resource type "widgets"' in missing.stderr


def test_explain_reads_upstreams_descriptions(cluster: RunningApiServer) -> None:
    """kubectl explain, from the OpenAPI v3 documents built on upstream's definitions."""
    out = cluster.kubectl("explain", "pods.spec.volumes.configMap").stdout
    assert "FIELD: configMap <ConfigMapVolumeSource>" in out
    assert "defaultMode" in out and "items" in out


def test_server_side_apply_after_client_side_apply(cluster: RunningApiServer) -> None:
    """kubectl apply, then kubectl apply --server-side of the same manifest: no conflict
    (containers are shared by name, field by field); a changed image conflicts with the
    client-side manager until --force-conflicts takes it over."""
    manifest = DEPLOYMENT.replace("name: roll", "name: both").replace("app: roll", "app: both")
    cluster.kubectl("apply", "-f", "-", input=manifest)
    out = cluster.kubectl("apply", "--server-side", "-f", "-", input=manifest).stdout
    assert "deployment.apps/both serverside-applied" in out
    changed = manifest.replace("busybox:1.36", "busybox:1.37")
    refused = cluster.kubectl("apply", "--server-side", "-f", "-", input=changed, check=False)
    assert refused.returncode != 0
    assert ('conflict with "kubectl-client-side-apply" using apps/v1: '
            '.spec.template.spec.containers[name="c"].image') in refused.stderr
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=changed)
    deploy = cluster.kubectl_json("get", "deploy", "both", "--show-managed-fields")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.37"
    owners = {(m["manager"], m["operation"]): m["fieldsV1"]
              for m in deploy["metadata"]["managedFields"]}
    container = owners[("kubectl", "Apply")]["f:spec"]["f:template"]["f:spec"][
        "f:containers"]['k:{"name":"c"}']
    assert container == {".": {}, "f:image": {}, "f:name": {}}


def test_debug_node_creates_the_host_pod(cluster: RunningApiServer) -> None:
    """kubectl debug node/N sends a protobuf Pod with host namespaces and the node's root as a
    hostPath volume: every field arrives (decoded with upstream's generated messages)."""
    cluster.kubectl("create", "-f", "-", input=json.dumps(
        {**NODE, "metadata": {"name": "debugged"}}))
    out = cluster.kubectl("debug", "node/debugged", "--image=busybox:1.36",
                          "--profile=legacy")
    assert "Creating debugging pod node-debugger-debugged-" in out.stdout, out.stderr
    pods = [p for p in cluster.kubectl_json("get", "pods")["items"]
            if p["metadata"]["name"].startswith("node-debugger-debugged-")]
    assert len(pods) == 1
    spec = pods[0]["spec"]
    assert spec["nodeName"] == "debugged"
    assert spec["hostPID"] is True and spec["hostNetwork"] is True and spec["hostIPC"] is True
    assert any(v["name"] == "host-root" and v["hostPath"]["path"] == "/"
               for v in spec["volumes"])
    mounts = spec["containers"][0]["volumeMounts"]
    assert {"mountPath": "/host", "name": "host-root"} in [
        {k: m[k] for k in ("mountPath", "name")} for m in mounts]


SA = "system:serviceaccount:default:default"


def test_rbac_can_i_and_impersonation(cluster: RunningApiServer) -> None:
    """kubectl auth can-i (--as a service account, --list), a RoleBinding granting `edit` in
    one namespace, kubectl get --as, kubectl auth whoami --as/--as-group."""
    assert cluster.kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"
    refused = cluster.kubectl("auth", "can-i", "create", "pods", f"--as={SA}", check=False)
    assert refused.returncode != 0 and refused.stdout.strip() == "no"
    assert cluster.kubectl("auth", "can-i", "get", "/api", f"--as={SA}").stdout.strip() == "yes"
    forbidden = cluster.kubectl("get", "pods", f"--as={SA}", check=False)
    assert ('pods is forbidden: User "system:serviceaccount:default:default" cannot list '
            'resource "pods" in API group "" in the namespace "default"') in forbidden.stderr
    cluster.kubectl("create", "rolebinding", "sa-edit", "--clusterrole=edit",
                    "--serviceaccount=default:default")
    assert cluster.kubectl("auth", "can-i", "create", "deployments.apps",
                           f"--as={SA}").stdout.strip() == "yes"
    other = cluster.kubectl("auth", "can-i", "create", "pods", "-n", "kube-system", f"--as={SA}",
                            check=False)
    assert other.stdout.strip() == "no"
    assert cluster.kubectl("auth", "can-i", "create", "rolebindings", f"--as={SA}",
                           check=False).stdout.strip() == "no", "edit cannot grant rights"
    listed = cluster.kubectl("auth", "can-i", "--list", f"--as={SA}").stdout
    assert "deployments.apps" in listed and "selfsubjectaccessreviews" in listed
    whoami = cluster.kubectl("auth", "whoami", "--as=jane", "--as-group=devs").stdout
    assert "jane" in whoami and "devs" in whoami
    bootstrap = {r["metadata"]["name"] for r in cluster.kubectl_json(
        "get", "clusterroles")["items"]}
    assert {"cluster-admin", "admin", "edit", "view", "system:basic-user",
            "system:node-proxier"} <= bootstrap


def test_label_annotate_overwrite_expose_and_orphan(cluster: RunningApiServer) -> None:
    """kubectl label/annotate (refused without --overwrite, then changed), kubectl expose
    deployment, kubectl delete --cascade=orphan (the ReplicaSet stays, its owner gone)."""
    manifest = DEPLOYMENT.replace("name: roll", "name: lab").replace("app: roll", "app: lab")
    cluster.kubectl("apply", "-f", "-", input=manifest)
    cluster.kubectl("label", "deploy", "lab", "tier=front")
    again = cluster.kubectl("label", "deploy", "lab", "tier=back", check=False)
    assert again.returncode != 0 and "'tier' already has a value (front)" in again.stderr
    cluster.kubectl("label", "deploy", "lab", "tier=back", "--overwrite")
    cluster.kubectl("annotate", "deploy", "lab", "note=a")
    cluster.kubectl("annotate", "deploy", "lab", "note=b", "--overwrite")
    deploy = cluster.kubectl_json("get", "deploy", "lab")
    assert deploy["metadata"]["labels"]["tier"] == "back"
    assert deploy["metadata"]["annotations"]["note"] == "b"
    out = cluster.kubectl("expose", "deploy", "lab", "--port=80", "--target-port=8080").stdout
    assert "service/lab exposed" in out
    svc = cluster.kubectl_json("get", "svc", "lab")
    assert svc["spec"]["selector"] == {"app": "lab"}
    assert svc["spec"]["ports"][0]["targetPort"] == 8080
    rs = _wait_for("the ReplicaSet", lambda: cluster.kubectl_json(
        "get", "rs", "-l", "app=lab")["items"])
    cluster.kubectl("delete", "deploy", "lab", "--cascade=orphan")
    cluster.kubectl("wait", "--for=delete", "deploy/lab", "--timeout=20s")
    left = _wait_for("the orphaned ReplicaSet", lambda: [
        r for r in cluster.kubectl_json("get", "rs", "-l", "app=lab")["items"]
        if not r["metadata"].get("ownerReferences")])
    assert [r["metadata"]["name"] for r in left] == [rs[0]["metadata"]["name"]]
