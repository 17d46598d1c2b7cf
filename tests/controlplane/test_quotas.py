"""LimitRange and ResourceQuota served, the LimitRanger and ResourceQuota admission plugins and
the quota controller, driven with real kubectl against a real API server (the controller runs
in this process as a client, as in the controllers process): the docs tasks "Configure Default
Memory Requests and Limits", "Configure Minimum and Maximum CPU Constraints", "Configure Memory
and CPU Quotas" and "Configure a Pod Quota" for a Namespace, with upstream's texts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nodelab.controlplane.controllers.loop import ControllerLoop
from nodelab.controlplane.controllers.quota.resourcequota import (
    ResourceQuotaController,
    listed_kind,
)
from nodelab.controlplane.controllers.workloads.deployments import DeploymentController
from nodelab.controlplane.controllers.workloads.replicasets import ReplicaSetController
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer
from tests.controlplane.apiserver import RunningApiServer, running_controllers

pytestmark = [pytest.mark.slow]


class CountingPasses(ResourceQuotaController):
    """The quota controller, counting the passes it finished (a test waits for a whole pass
    that began after something it needs)."""

    def __init__(self) -> None:
        super().__init__()
        self.passes = 0

    def sync(self, store: Store, writer: Writer) -> None:
        try:
            super().sync(store, writer)
        finally:
            self.passes += 1


@pytest.fixture(scope="module")
def quota_controller(apiserver: RunningApiServer) -> Iterator[ControllerLoop]:
    with running_controllers(apiserver, [CountingPasses()]) as loop:
        yield loop


def whole_pass_after(loop: ControllerLoop) -> None:
    """Wait until a pass of the loop's quota controller began and finished after now: the
    one running now may have read its caches before."""
    controller = next(c for c in loop.controllers if isinstance(c, CountingPasses))
    now = controller.passes
    assert eventually(lambda: controller.passes >= now + 2)  # the running one, then a whole


def apply(apiserver: RunningApiServer, namespace: str, obj: dict[str, Any]) -> tuple[int, str]:
    result = apiserver.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(obj),
                               check=False)
    return result.returncode, (result.stdout + result.stderr).strip()


def namespace(apiserver: RunningApiServer, name: str) -> str:
    apiserver.kubectl("create", "namespace", name)
    return name


def pod(name: str, requests: dict[str, str] | None = None,
        limits: dict[str, str] | None = None) -> dict[str, Any]:
    resources = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": name + "-ctr", "image": "nginx",
                                     "resources": resources}]}}


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_served_with_short_names_and_columns(apiserver: RunningApiServer) -> None:
    resources = apiserver.kubectl("api-resources", "--api-group=", "-o", "wide").stdout
    rows = {line.split()[0]: line.split() for line in resources.splitlines()[1:]}
    assert rows["limitranges"][1:4] == ["limits", "v1", "true"]
    assert rows["resourcequotas"][1:4] == ["quota", "v1", "true"]
    ns = namespace(apiserver, "served")
    apiserver.kubectl("create", "quota", "q", "-n", ns, "--hard=pods=2,limits.cpu=1")
    header = apiserver.kubectl("get", "quota", "-n", ns).stdout.splitlines()[0].split()
    assert header == ["NAME", "AGE", "REQUEST", "LIMIT"]
    # status is a struct in Go, never omitted: `{}` before the quota controller fills it
    created = json.loads(apiserver.kubectl("get", "quota", "q", "-n", ns, "-o", "json").stdout)
    assert isinstance(created.get("status"), dict)
    explained = apiserver.kubectl("explain", "limitrange.spec.limits").stdout
    assert "maxLimitRequestRatio" in explained
    # the view role reads both, as upstream's aggregated view; edit writes neither
    apiserver.kubectl("create", "rolebinding", "alice-edit", "-n", ns, "--clusterrole=edit",
                      "--user=alice")

    def can(verb: str, resource: str) -> str:
        return str(apiserver.kubectl("auth", "can-i", verb, resource, "-n", ns, "--as=alice",
                                     check=False).stdout.strip())

    assert [can("list", "resourcequotas"), can("get", "limitranges"),
            can("create", "resourcequotas"), can("delete", "limitranges")] == [
        "yes", "yes", "no", "no"]


@pytest.mark.parametrize(("manifest", "message"), [
    ({"kind": "LimitRange", "spec": {"limits": [
        {"type": "Container", "min": {"cpu": "1"}, "max": {"cpu": "500m"}}]}},
     "spec.limits[0].min[cpu]: Invalid value: \"1\": min value 1 is greater than max value 500m"),
    ({"kind": "LimitRange", "spec": {"limits": [{"type": "Pod", "default": {"cpu": "1"}}]}},
     "spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'"),
    ({"kind": "LimitRange", "spec": {"limits": [{"type": "Node", "max": {"cpu": "1"}}]}},
     "spec.limits[0].type: Invalid value: \"Node\": must be a standard limit type or fully "
     "qualified"),
    ({"kind": "ResourceQuota", "spec": {"hard": {"pods": "-1"}}},
     "spec.hard[pods]: Invalid value: \"-1\": must be greater than or equal to 0"),
    ({"kind": "ResourceQuota", "spec": {"hard": {"requests.cpu": "1"}, "scopes": ["BestEffort"]}},
     "spec.scopes: Invalid value: [\"BestEffort\"]: unsupported scope applied to resource"),
])
def test_validation(apiserver: RunningApiServer, manifest: dict[str, Any], message: str) -> None:
    obj = {"apiVersion": "v1", "metadata": {"name": "bad"}, **manifest}
    code, output = apply(apiserver, "default", obj)
    assert code != 0
    assert message in output


def test_default_memory_requests_and_limits(apiserver: RunningApiServer) -> None:
    ns = namespace(apiserver, "default-mem-example")
    code, _ = apply(apiserver, ns, {
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "mem-limit-range"},
        "spec": {"limits": [{"default": {"memory": "512Mi"},
                             "defaultRequest": {"memory": "256Mi"}, "type": "Container"}]}})
    assert code == 0
    described = apiserver.kubectl("describe", "namespace", ns).stdout.splitlines()
    assert described[-1].split() == ["Container", "memory", "-", "-", "256Mi", "512Mi", "-"]
    apply(apiserver, ns, pod("default-mem-demo"))
    created = apiserver.kubectl_json("get", "pod", "default-mem-demo", "-n", ns)
    assert created["spec"]["containers"][0]["resources"] == {
        "limits": {"memory": "512Mi"}, "requests": {"memory": "256Mi"}}
    assert created["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: memory request for container default-mem-demo-ctr; memory "
        "limit for container default-mem-demo-ctr")
    assert created["status"]["qosClass"] == "Burstable"
    # a limit but no request: the request is the limit (the pod's own defaulting)
    apply(apiserver, ns, pod("default-mem-demo-2", limits={"memory": "1Gi"}))
    resources = apiserver.kubectl_json("get", "pod", "default-mem-demo-2", "-n", ns)[
        "spec"]["containers"][0]["resources"]
    assert resources == {"limits": {"memory": "1Gi"}, "requests": {"memory": "1Gi"}}


def test_min_and_max_cpu_constraints(apiserver: RunningApiServer) -> None:
    ns = namespace(apiserver, "constraints-cpu-example")
    apply(apiserver, ns, {
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "cpu-min-max-demo-lr"},
        "spec": {"limits": [{"max": {"cpu": "800m"}, "min": {"cpu": "200m"},
                             "type": "Container"}]}})
    stored = apiserver.kubectl_json("get", "limitrange", "cpu-min-max-demo-lr", "-n", ns)
    assert stored["spec"]["limits"] == [{"default": {"cpu": "800m"},
                                         "defaultRequest": {"cpu": "800m"},
                                         "max": {"cpu": "800m"}, "min": {"cpu": "200m"},
                                         "type": "Container"}]
    code, _ = apply(apiserver, ns, pod("constraints-cpu-demo", {"cpu": "500m"}, {"cpu": "800m"}))
    assert code == 0
    code, output = apply(apiserver, ns, pod("constraints-cpu-demo-2", {"cpu": "500m"},
                                            {"cpu": "1.5"}))
    assert code != 0
    assert ('pods "constraints-cpu-demo-2" is forbidden: maximum cpu usage per Container is '
            "800m, but limit is 1500m") in output
    code, output = apply(apiserver, ns, pod("constraints-cpu-demo-3", {"cpu": "100m"},
                                            {"cpu": "800m"}))
    assert ('pods "constraints-cpu-demo-3" is forbidden: minimum cpu usage per Container is '
            "200m, but request is 100m") in output
    assert apiserver.kubectl("get", "pods", "-n", ns, "-o", "name").stdout.split() == [
        "pod/constraints-cpu-demo"]


def quota_status(apiserver: RunningApiServer, ns: str, name: str) -> dict[str, Any]:
    return dict(apiserver.kubectl_json("get", "quota", name, "-n", ns).get("status") or {})


def test_memory_and_cpu_quota(apiserver: RunningApiServer,
                              quota_controller: ControllerLoop) -> None:
    ns = namespace(apiserver, "quota-mem-cpu-example")
    hard = {"requests.cpu": "1", "requests.memory": "1Gi", "limits.cpu": "2",
            "limits.memory": "2Gi"}
    apply(apiserver, ns, {"apiVersion": "v1", "kind": "ResourceQuota",
                          "metadata": {"name": "mem-cpu-demo"}, "spec": {"hard": hard}})
    assert eventually(lambda: quota_status(apiserver, ns, "mem-cpu-demo").get("used"))
    code, output = apply(apiserver, ns, pod("no-limits"))
    assert ('pods "no-limits" is forbidden: failed quota: mem-cpu-demo: must specify '
            "limits.cpu for: no-limits-ctr; limits.memory for: no-limits-ctr; requests.cpu for: "
            "no-limits-ctr; requests.memory for: no-limits-ctr") in output
    code, _ = apply(apiserver, ns, pod("quota-mem-cpu-demo", {"memory": "600Mi", "cpu": "400m"},
                                       {"memory": "800Mi", "cpu": "800m"}))
    assert code == 0
    assert quota_status(apiserver, ns, "mem-cpu-demo")["used"] == {
        "limits.cpu": "800m", "limits.memory": "800Mi", "requests.cpu": "400m",
        "requests.memory": "600Mi"}
    code, output = apply(apiserver, ns, pod("quota-mem-cpu-demo-2",
                                            {"memory": "700Mi", "cpu": "400m"},
                                            {"memory": "1Gi", "cpu": "800m"}))
    assert code != 0
    assert ('pods "quota-mem-cpu-demo-2" is forbidden: exceeded quota: mem-cpu-demo, requested: '
            "requests.memory=700Mi, used: requests.memory=600Mi, limited: requests.memory=1Gi"
            ) in output
    described = apiserver.kubectl("describe", "quota", "mem-cpu-demo", "-n", ns).stdout
    assert [line.split() for line in described.splitlines()[-4:]] == [
        ["limits.cpu", "800m", "2"], ["limits.memory", "800Mi", "2Gi"],
        ["requests.cpu", "400m", "1"], ["requests.memory", "600Mi", "1Gi"]]
    row = apiserver.kubectl("get", "quota", "-n", ns).stdout.splitlines()[1]
    assert "requests.cpu: 400m/1, requests.memory: 600Mi/1Gi" in row
    assert "limits.cpu: 800m/2, limits.memory: 800Mi/2Gi" in row
    # the controller gives the usage back when the pod is gone
    apiserver.kubectl("delete", "pod", "quota-mem-cpu-demo", "-n", ns, "--grace-period=0",
                      "--force")
    assert eventually(lambda: quota_status(apiserver, ns, "mem-cpu-demo")["used"][
        "requests.memory"] == "0")


def test_pod_quota(apiserver: RunningApiServer, quota_controller: ControllerLoop) -> None:
    ns = namespace(apiserver, "quota-pod-example")
    apply(apiserver, ns, {"apiVersion": "v1", "kind": "ResourceQuota",
                          "metadata": {"name": "pod-demo"}, "spec": {"hard": {"pods": "2"}}})
    assert eventually(lambda: quota_status(apiserver, ns, "pod-demo").get("used"))
    for name in ("one", "two"):
        assert apply(apiserver, ns, pod(name))[0] == 0
    code, output = apply(apiserver, ns, pod("three"))
    assert code != 0
    assert ('pods "three" is forbidden: exceeded quota: pod-demo, requested: pods=1, used: '
            "pods=2, limited: pods=2") in output
    assert quota_status(apiserver, ns, "pod-demo") == {"hard": {"pods": "2"},
                                                      "used": {"pods": "2"}}


def claim(name: str, storage: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                     "resources": {"requests": {"storage": storage}}}}


def test_claims_against_a_limit_range_and_a_storage_quota(
        apiserver: RunningApiServer, quota_controller: ControllerLoop) -> None:
    ns = namespace(apiserver, "storage-limits")
    apply(apiserver, ns, {"apiVersion": "v1", "kind": "LimitRange",
                          "metadata": {"name": "storagelimits"},
                          "spec": {"limits": [{"type": "PersistentVolumeClaim",
                                               "max": {"storage": "2Gi"},
                                               "min": {"storage": "1Gi"}}]}})
    apply(apiserver, ns, {"apiVersion": "v1", "kind": "ResourceQuota",
                          "metadata": {"name": "storagequota"},
                          "spec": {"hard": {"persistentvolumeclaims": "5",
                                            "requests.storage": "3Gi",
                                            "manual.storageclass.storage.k8s.io/requests.storage":
                                            "3Gi"}}})
    assert eventually(lambda: quota_status(apiserver, ns, "storagequota").get("used"))
    code, output = apply(apiserver, ns, claim("too-big", "5Gi"))
    assert ('persistentvolumeclaims "too-big" is forbidden: maximum storage usage per '
            "PersistentVolumeClaim is 2Gi, but request is 5Gi") in output
    code, output = apply(apiserver, ns, claim("too-small", "500Mi"))
    assert ("minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"
            in output)
    assert apply(apiserver, ns, claim("first", "2Gi"))[0] == 0
    code, output = apply(apiserver, ns, claim("second", "2Gi"))
    assert ('persistentvolumeclaims "second" is forbidden: exceeded quota: storagequota, '
            "requested: manual.storageclass.storage.k8s.io/requests.storage=2Gi,"
            "requests.storage=2Gi, used: manual.storageclass.storage.k8s.io/requests.storage=2Gi,"
            "requests.storage=2Gi, limited: manual.storageclass.storage.k8s.io/requests.storage="
            "3Gi,requests.storage=3Gi") in output
    assert quota_status(apiserver, ns, "storagequota")["used"] == {
        "manual.storageclass.storage.k8s.io/requests.storage": "2Gi",
        "persistentvolumeclaims": "1", "requests.storage": "2Gi"}


def test_a_raised_pod_quota_lets_the_missing_replicas_in(
        apiserver: RunningApiServer, quota_controller: ControllerLoop) -> None:
    ns = namespace(apiserver, "quota-raised")
    apiserver.kubectl("create", "quota", "pod-demo", "-n", ns, "--hard=pods=2")
    assert eventually(lambda: quota_status(apiserver, ns, "pod-demo").get("used"))
    with running_controllers(apiserver, [DeploymentController(), ReplicaSetController()]):
        apiserver.kubectl("create", "deployment", "pod-quota-demo", "-n", ns,
                          "--image=nginx", "--replicas=3")

        def failure() -> list[dict[str, Any]]:
            sets = apiserver.kubectl_json("get", "rs", "-n", ns)["items"]
            return [c for s in sets for c in (s.get("status") or {}).get("conditions") or []
                    if c["type"] == "ReplicaFailure"]

        assert eventually(failure)
        assert failure()[0]["message"].endswith(
            "is forbidden: exceeded quota: pod-demo, requested: pods=1, used: pods=2, "
            "limited: pods=2")
        assert len(apiserver.kubectl_json("get", "pods", "-n", ns)["items"]) == 2
        apiserver.kubectl("patch", "quota", "pod-demo", "-n", ns, "--type=merge",
                          "-p", '{"spec":{"hard":{"pods":"3"}}}')
        # no pod or set changes: the set's own retry brings the third pod, and the condition goes
        assert eventually(lambda: len(apiserver.kubectl_json("get", "pods", "-n", ns)[
            "items"]) == 3)
        assert eventually(lambda: not failure())


def test_object_counts_of_kinds_the_controller_lists(
        apiserver: RunningApiServer, quota_controller: ControllerLoop) -> None:
    ns = namespace(apiserver, "quota-counts")
    counted = "count/roles.rbac.authorization.k8s.io"
    apiserver.kubectl("create", "quota", "q", "-n", ns, f"--hard={counted}=1")
    assert eventually(lambda: quota_status(apiserver, ns, "q").get("used") == {counted: "0"})
    apiserver.kubectl("create", "role", "r1", "-n", ns, "--verb=get", "--resource=pods")
    refused = apiserver.kubectl("create", "role", "r2", "-n", ns, "--verb=get",
                                "--resource=pods", check=False)
    assert (f'roles.rbac.authorization.k8s.io "r2" is forbidden: exceeded quota: q, requested: '
            f"{counted}=1, used: {counted}=1, limited: {counted}=1") in refused.stderr
    apiserver.kubectl("delete", "role", "r1", "-n", ns)
    # the controller watches roles since the quota named them, and gives the count back
    assert eventually(lambda: quota_status(apiserver, ns, "q")["used"] == {counted: "0"})
    assert eventually(lambda: quota_controller.store.delivered("roles") >= 0)  # listed
    whole_pass_after(quota_controller)  # a pass that saw it not yet listed has listed roles
    listed = role_lists(apiserver, ns)
    assert listed >= 1  # the first pass listed them: the reflector it started had not yet
    apiserver.kubectl("create", "role", "r2", "-n", ns, "--verb=get", "--resource=pods")
    apiserver.kubectl("delete", "role", "r2", "-n", ns)
    assert eventually(lambda: quota_status(apiserver, ns, "q")["used"] == {counted: "0"})
    # passes since its reflector listed read roles from its cache: no list of their own
    assert role_lists(apiserver, ns) == listed
    apiserver.kubectl("create", "role", "r2", "-n", ns, "--verb=get", "--resource=pods")


def role_lists(apiserver: RunningApiServer, ns: str) -> int:
    """The lists of the namespace's roles the API server has served (its request log)."""
    log = (apiserver.state_dir / "controlplane.log").read_text(errors="replace")
    return log.count(f" GET /apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles ")


@pytest.mark.unit
@pytest.mark.parametrize(("name", "kind"), [
    ("count/roles.rbac.authorization.k8s.io", "roles"), ("count/serviceaccounts",
                                                         "serviceaccounts"),
    ("count/pods", None),  # watched
    ("count/crontabs.stable.example.com", None), ("count/roles", None),
])
def test_listed_kinds(name: str, kind: str | None) -> None:
    assert listed_kind(name) == kind
