"""More kubectl moves a learner makes, each asserting what a real v1.37 cluster answers.

The companion of test_kubectl_learner.py (docs/kubectl.md lists every command and its test):
generators (`kubectl create deployment|secret|token|cronjob|job --from|service|role`),
rollout pause/resume/restart/status, scale with preconditions, dry runs, diff, replace,
output formats, `kubectl events`, `kubectl wait`, deletion propagation and discovery. One API
server with its controllers and no kubelet, so pods stay Pending.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.controlplane.apiserver import RunningApiServer, running_apiserver
from tests.controlplane.watchclient import request


@pytest.fixture(scope="module")
def cluster() -> Iterator[RunningApiServer]:
    with running_apiserver("--controllers") as server:
        yield server


def _wait_for(what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _output_with(cluster: RunningApiServer, needle: str, *args: str) -> str:
    """kubectl's output once it contains `needle` (controllers write events a moment later)."""
    def check() -> str:
        out = cluster.kubectl(*args).stdout
        return out if needle in out else ""
    return str(_wait_for(f"{needle!r} in kubectl {' '.join(args)}", check))


def test_rollout_pause_resume_restart_status(cluster: RunningApiServer) -> None:
    """kubectl create deployment, rollout status/pause/resume/restart, history --revision,
    undo --to-revision of a revision that does not exist."""
    out = cluster.kubectl("create", "deployment", "web", "--image=busybox:1.36",
                          "--replicas=0").stdout
    assert out.strip() == "deployment.apps/web created"
    status = cluster.kubectl("rollout", "status", "deploy/web", "--timeout=30s").stdout
    assert 'deployment "web" successfully rolled out' in status
    assert cluster.kubectl("rollout", "pause", "deploy/web").stdout.strip() == \
        "deployment.apps/web paused"
    again = cluster.kubectl("rollout", "pause", "deploy/web", check=False)
    assert again.returncode != 0
    assert 'deployments.apps "web" is already paused' in again.stderr
    assert cluster.kubectl_json("get", "deploy", "web")["spec"]["paused"] is True
    assert cluster.kubectl("rollout", "resume", "deploy/web").stdout.strip() == \
        "deployment.apps/web resumed"
    assert cluster.kubectl("rollout", "restart", "deploy/web").stdout.strip() == \
        "deployment.apps/web restarted"
    template = cluster.kubectl_json("get", "deploy", "web")["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
    _wait_for("revision 2", lambda: "2 " in cluster.kubectl(
        "rollout", "history", "deploy/web").stdout)
    first = cluster.kubectl("rollout", "history", "deploy/web", "--revision=1").stdout
    assert "deployment.apps/web with revision #1" in first and "busybox:1.36" in first
    missing = cluster.kubectl("rollout", "undo", "deploy/web", "--to-revision=9", check=False)
    assert "unable to find specified revision 9 in history" in missing.stderr


def test_scale_preconditions_and_scaling_events(cluster: RunningApiServer) -> None:
    """kubectl scale --current-replicas (the Scale it reads back omits replicas: 0), scale up
    and down, and the Deployment's ScalingReplicaSet events in `kubectl events --for`."""
    cluster.kubectl("create", "deployment", "sc", "--image=busybox:1.36", "--replicas=0")
    out = cluster.kubectl("scale", "deploy", "sc", "--current-replicas=0", "--replicas=0")
    assert out.stdout.strip() == "deployment.apps/sc scaled"
    wrong = cluster.kubectl("scale", "deploy", "sc", "--current-replicas=5", "--replicas=1",
                            check=False)
    assert wrong.returncode != 0 and "Expected replicas to be 5, was 0" in wrong.stderr
    cluster.kubectl("scale", "deploy", "sc", "--current-replicas=0", "--replicas=2")
    rs = _wait_for("the ReplicaSet at 2", lambda: [
        r for r in cluster.kubectl_json("get", "rs", "-l", "app=sc")["items"]
        if r["spec"]["replicas"] == 2])[0]["metadata"]["name"]
    cluster.kubectl("scale", "deploy", "sc", "--replicas=1")
    events = _output_with(cluster, "Scaled down", "events", "--for", "deploy/sc")
    assert f"Scaled up replica set {rs} from 0 to 2" in events
    assert f"Scaled down replica set {rs} from 2 to 1" in events
    bad = cluster.kubectl("patch", "deploy", "sc", "--subresource=scale", "--type=merge",
                          "-p", '{"spec":{"replicas":"x"}}', check=False)
    assert ('Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal '
            'string into Go struct field ScaleSpec.spec.replicas of type int32') in bad.stderr


def test_label_and_annotation_removal_and_output_formats(cluster: RunningApiServer) -> None:
    """kubectl label k-, annotate k-, get -o jsonpath|custom-columns|go-template|name,
    --show-labels, -L."""
    cluster.kubectl("create", "configmap", "shown", "--from-literal=a=1")
    cluster.kubectl("label", "cm", "shown", "tier=a", "app=shown")
    assert cluster.kubectl("label", "cm", "shown", "tier-").stdout.strip() == \
        "configmap/shown unlabeled"
    cluster.kubectl("annotate", "cm", "shown", "note=x")
    assert cluster.kubectl("annotate", "cm", "shown", "note-").stdout.strip() == \
        "configmap/shown annotated"
    meta = cluster.kubectl_json("get", "cm", "shown")["metadata"]
    assert meta["labels"] == {"app": "shown"} and "note" not in (meta.get("annotations") or {})
    assert cluster.kubectl("get", "cm", "shown", "-o", "jsonpath={.data.a}").stdout == "1"
    assert cluster.kubectl("get", "cm", "shown", "-o",
                           "go-template={{.metadata.name}}").stdout == "shown"
    assert cluster.kubectl("get", "cm", "shown", "-o", "name").stdout.strip() == \
        "configmap/shown"
    columns = cluster.kubectl("get", "cm", "-l", "app=shown", "-o",
                              "custom-columns=NAME:.metadata.name,A:.data.a").stdout
    assert columns.split() == ["NAME", "A", "shown", "1"]
    labelled = cluster.kubectl("get", "cm", "shown", "--show-labels").stdout.splitlines()
    assert labelled[0].split()[-1] == "LABELS" and labelled[1].split()[-1] == "app=shown"
    column = cluster.kubectl("get", "cm", "shown", "-L", "app").stdout.splitlines()
    assert column[0].split()[-1] == "APP" and column[1].split()[-1] == "shown"


def test_generators(cluster: RunningApiServer) -> None:
    """kubectl create secret generic, create token, create cronjob, create job --from=cronjob,
    create service clusterip|nodeport, create priorityclass, create pdb."""
    assert cluster.kubectl("create", "secret", "generic", "s1",
                           "--from-literal=k=v").stdout.strip() == "secret/s1 created"
    data = cluster.kubectl("get", "secret", "s1", "-o", "jsonpath={.data.k}").stdout
    assert base64.b64decode(data) == b"v"
    token = cluster.kubectl("create", "token", "default", "--duration=10m").stdout.strip()
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == "system:serviceaccount:default:default"
    assert claims["exp"] - claims["iat"] == 600
    cluster.kubectl("create", "cronjob", "cj", "--image=busybox:1.36",
                    "--schedule=*/5 * * * *")
    assert cluster.kubectl("create", "job", "manual", "--from=cronjob/cj").stdout.strip() == \
        "job.batch/manual created"
    job = cluster.kubectl_json("get", "job", "manual")
    assert job["metadata"]["annotations"] == {"cronjob.kubernetes.io/instantiate": "manual"}
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    cluster.kubectl("create", "service", "clusterip", "svc1", "--tcp=80:8080")
    cluster.kubectl("create", "service", "nodeport", "svc2", "--tcp=80:8080")
    svc2 = cluster.kubectl_json("get", "svc", "svc2")["spec"]
    assert svc2["type"] == "NodePort" and 30000 <= svc2["ports"][0]["nodePort"] <= 32767
    assert cluster.kubectl_json("get", "svc", "svc1")["spec"]["selector"] == {"app": "svc1"}
    assert cluster.kubectl("create", "priorityclass", "pc1", "--value=1000").stdout.strip() == \
        "priorityclass.scheduling.k8s.io/pc1 created"
    assert cluster.kubectl("create", "pdb", "pdb1", "--selector=app=x",
                           "--min-available=1").stdout.strip() == \
        "poddisruptionbudget.policy/pdb1 created"


def test_rbac_generators_and_set_subject(cluster: RunningApiServer) -> None:
    """kubectl create clusterrole, create clusterrolebinding, auth can-i --as a user, set
    subject, describe clusterrolebinding."""
    cluster.kubectl("create", "clusterrole", "node-reader", "--verb=list", "--resource=nodes")
    cluster.kubectl("create", "clusterrolebinding", "jane-reads", "--clusterrole=node-reader",
                    "--user=jane")
    assert cluster.kubectl("auth", "can-i", "list", "nodes", "--as=jane").stdout.strip() == "yes"
    assert cluster.kubectl("auth", "can-i", "list", "nodes", "--as=bob",
                           check=False).stdout.strip() == "no"
    out = cluster.kubectl("set", "subject", "clusterrolebinding", "jane-reads", "--user=bob")
    assert "subjects updated" in out.stdout
    assert cluster.kubectl("auth", "can-i", "list", "nodes", "--as=bob").stdout.strip() == "yes"
    described = cluster.kubectl("describe", "clusterrolebinding", "jane-reads").stdout
    assert "ClusterRole" in described and "node-reader" in described and "bob" in described


def test_dry_runs_diff_and_replace(cluster: RunningApiServer) -> None:
    """kubectl apply --dry-run=server, run --dry-run=server -o yaml (the defaults admission
    adds), diff (exit 1 with a difference, 0 without), replace and replace --force."""
    manifest = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry}\ndata: {a: "1"}\n'
    out = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=manifest).stdout
    assert out.strip() == "configmap/dry created (server dry run)"
    assert cluster.kubectl("get", "cm", "dry", check=False).returncode != 0
    pod = cluster.kubectl_json("run", "ghost", "--image=busybox:1.36", "--dry-run=server")
    assert pod["spec"]["serviceAccountName"] == "default"
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert cluster.kubectl("get", "pod", "ghost", check=False).returncode != 0
    cluster.kubectl("apply", "-f", "-", input=manifest)
    same = cluster.kubectl("diff", "-f", "-", input=manifest, check=False)
    assert same.returncode == 0 and same.stdout == ""
    changed = manifest.replace('a: "1"', 'a: "2"')
    differs = cluster.kubectl("diff", "-f", "-", input=changed, check=False)
    assert differs.returncode == 1
    assert '-  a: "1"' in differs.stdout and '+  a: "2"' in differs.stdout
    assert cluster.kubectl("replace", "-f", "-", input=changed).stdout.strip() == \
        "configmap/dry replaced"
    uid = cluster.kubectl_json("get", "cm", "dry")["metadata"]["uid"]
    forced = cluster.kubectl("replace", "--force", "-f", "-",
                             input=manifest.replace('a: "1"', 'a: "3"')).stdout
    assert 'configmap "dry" deleted' in forced and "configmap/dry replaced" in forced
    replaced = cluster.kubectl_json("get", "cm", "dry")
    assert replaced["data"] == {"a": "3"} and replaced["metadata"]["uid"] != uid


def test_events_and_wait(cluster: RunningApiServer) -> None:
    """kubectl events --types=Warning (the scheduler's FailedScheduling for a pod no node
    can take), kubectl wait --for=condition and --for=jsonpath."""
    cluster.kubectl("run", "stuck", "--image=busybox:1.36")
    warnings = _output_with(cluster, "Pod/stuck", "events", "--types=Warning")
    line = next(x for x in warnings.splitlines() if "Pod/stuck" in x)
    assert "FailedScheduling" in line and "no nodes available to schedule pods" in line
    cluster.kubectl("create", "deployment", "avail", "--image=busybox:1.36", "--replicas=0")
    out = cluster.kubectl("wait", "--for=condition=Available", "deploy/avail",
                          "--timeout=30s").stdout
    assert out.strip() == "deployment.apps/avail condition met"
    out = cluster.kubectl("wait", "--for=jsonpath={.spec.replicas}=0", "deploy/avail",
                          "--timeout=10s").stdout
    assert out.strip() == "deployment.apps/avail condition met"
    missing = cluster.kubectl("wait", "--for=condition=Available", "deploy/none",
                              "--timeout=2s", check=False)
    assert 'deployments.apps "none" not found' in missing.stderr


def test_delete_background_by_label_and_force(cluster: RunningApiServer) -> None:
    """kubectl delete --cascade=background (the ReplicaSet and its pods follow), delete -l,
    delete --grace-period=0 --force with its warning."""
    cluster.kubectl("create", "deployment", "bg", "--image=busybox:1.36", "--replicas=1")
    _wait_for("the pod", lambda: cluster.kubectl_json("get", "pods", "-l", "app=bg")["items"])
    cluster.kubectl("delete", "deploy", "bg", "--cascade=background")
    _wait_for("the ReplicaSet and pod gone", lambda: not cluster.kubectl_json(
        "get", "rs,pods", "-l", "app=bg")["items"])
    cluster.kubectl("create", "configmap", "l1")
    cluster.kubectl("label", "cm", "l1", "batch=x")
    out = cluster.kubectl("delete", "cm", "-l", "batch=x").stdout
    assert out.strip() == 'configmap "l1" deleted from default namespace'
    assert cluster.kubectl("delete", "cm", "-l", "batch=x").stdout.strip() == \
        "No resources found"
    cluster.kubectl("run", "forced", "--image=busybox:1.36")
    forced = cluster.kubectl("delete", "pod", "forced", "--grace-period=0", "--force")
    assert 'pod "forced" force deleted' in forced.stdout
    assert "Immediate deletion does not wait for confirmation" in forced.stderr


def test_discovery_commands(cluster: RunningApiServer) -> None:
    """kubectl api-versions, api-resources --api-group -o wide / --namespaced=false,
    cluster-info, get --raw /healthz, explain --recursive."""
    versions = cluster.kubectl("api-versions").stdout.split()
    assert {"v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1"} <= set(versions)
    wide = cluster.kubectl("api-resources", "--api-group=apps", "-o", "wide").stdout
    row = next(x for x in wide.splitlines() if x.startswith("deployments "))
    assert "deploy" in row and "create,delete,deletecollection,get,list,patch,update,watch" \
        in row and row.split()[-1] == "all"
    cluster_scoped = cluster.kubectl("api-resources", "--namespaced=false", "-o", "name").stdout
    assert "nodes" in cluster_scoped.split() and "pods" not in cluster_scoped.split()
    assert "Kubernetes control plane is running at" in cluster.kubectl("cluster-info").stdout
    assert cluster.kubectl("get", "--raw", "/healthz").stdout == "ok"
    recursive = cluster.kubectl("explain", "deploy.spec", "--recursive").stdout
    assert "revisionHistoryLimit" in recursive and "maxSurge" in recursive


def test_delete_foreground_waits_for_blocking_dependents(cluster: RunningApiServer) -> None:
    """kubectl delete --cascade=foreground: the owner stays, with deletionTimestamp and the
    foregroundDeletion finalizer, while a dependent with blockOwnerDeletion is still there
    (here held by a finalizer of its own); it goes once that dependent is gone."""
    cluster.kubectl("create", "configmap", "owner")
    uid = cluster.kubectl_json("get", "cm", "owner")["metadata"]["uid"]
    child = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "child", "finalizers": ["example.com/hold"], "ownerReferences": [{
            "apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid,
            "blockOwnerDeletion": True}]}}
    cluster.kubectl("create", "-f", "-", input=json.dumps(child))
    out = cluster.kubectl("delete", "cm", "owner", "--cascade=foreground", "--wait=false")
    assert out.stdout.strip() == 'configmap "owner" deleted from default namespace'
    owner = cluster.kubectl_json("get", "cm", "owner")["metadata"]
    assert owner["finalizers"] == ["foregroundDeletion"] and owner["deletionTimestamp"]
    assert cluster.kubectl_json("get", "cm", "child")["metadata"]["deletionTimestamp"]
    cluster.kubectl("patch", "cm", "child", "--type=json", "-p",
                    '[{"op":"remove","path":"/metadata/finalizers"}]')
    cluster.kubectl("wait", "--for=delete", "cm/owner", "--timeout=20s")
    cluster.kubectl("create", "deployment", "fg", "--image=busybox:1.36", "--replicas=1")
    _wait_for("the pod", lambda: cluster.kubectl_json("get", "pods", "-l", "app=fg")["items"])
    cluster.kubectl("delete", "deploy", "fg", "--cascade=foreground")  # waits until gone
    assert not cluster.kubectl_json("get", "deploy,rs,pods", "-l", "app=fg")["items"]


def test_delete_foreground_marks_an_owner_without_dependents(cluster: RunningApiServer) -> None:
    """The API server adds the foregroundDeletion finalizer whether or not the object has
    dependents (the answer carries it); the garbage collector's pass then removes it."""
    cluster.kubectl("create", "configmap", "lonely")
    code, answer = request(cluster, "DELETE", "/api/v1/namespaces/default/configmaps/lonely",
                           {"propagationPolicy": "Foreground"})
    assert code == 200 and answer["kind"] == "ConfigMap"
    assert answer["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert answer["metadata"]["deletionTimestamp"]
    cluster.kubectl("wait", "--for=delete", "cm/lonely", "--timeout=20s")


def test_endpoints_are_deprecated_as_upstream_says(cluster: RunningApiServer) -> None:
    """kubectl get endpoints: v1 Endpoints is deprecated since 1.33 and every answer about it
    carries upstream's warning, which kubectl prints."""
    answer = cluster.kubectl("get", "endpoints", "kubernetes")
    assert "Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 " \
        "EndpointSlice" in answer.stderr
    assert answer.stdout.splitlines()[1].split()[0] == "kubernetes"
    slices = cluster.kubectl("get", "endpointslices", "-A")
    assert "deprecated" not in slices.stderr


def test_a_service_with_a_selector_gets_its_endpoints(cluster: RunningApiServer) -> None:
    """The Endpoints controller still runs in v1.37: kubectl create service, then kubectl get
    endpoints shows one of the same name (no pod has an IP here: no subsets), which goes with
    its Service."""
    cluster.kubectl("create", "service", "clusterip", "eps", "--tcp=80:8080")
    found = _wait_for("the Endpoints", lambda: cluster.kubectl(
        "get", "endpoints", "eps", check=False).returncode == 0)
    assert found
    endpoints = cluster.kubectl_json("get", "endpoints", "eps")
    assert endpoints["metadata"]["labels"] == {"app": "eps"} and "subsets" not in endpoints
    cluster.kubectl("delete", "service", "eps")
    _wait_for("the Endpoints gone", lambda: cluster.kubectl(
        "get", "endpoints", "eps", check=False).returncode != 0)
