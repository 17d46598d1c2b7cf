"""The ResourceQuota plugin's decisions and the quota controller's usage
(nodelab/kube/quota/{evaluators,admission,usage}.py) as table tests: what pods and services
use, which scopes they match, a request charged or refused with upstream's texts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nodelab.kube.quota.admission import QuotaRefusal, check_request
from nodelab.kube.quota.evaluators import evaluator_for
from nodelab.kube.quota.resource_lists import to_strings
from nodelab.kube.quota.usage import desired_status, live_keys, needs_recount

PODS = evaluator_for("pods", "")


def quota(name: str, hard: dict[str, str], used: dict[str, str] | None = None,
          scopes: list[str] | None = None, selector: list[dict[str, Any]] | None = None
          ) -> dict[str, Any]:
    spec: dict[str, Any] = {"hard": hard}
    if scopes:
        spec["scopes"] = scopes
    if selector:
        spec["scopeSelector"] = {"matchExpressions": selector}
    status = {"hard": hard, "used": used if used is not None else dict.fromkeys(hard, "0")}
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": spec, "status": status}


def pod(name: str = "p", requests: dict[str, str] | None = None,
        limits: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    resources = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
    return {"metadata": {"name": name, "namespace": "ns"},
            "spec": {"containers": [{"name": "app", "resources": resources}], **spec},
            "status": {"phase": "Pending"}}


@pytest.mark.unit
@pytest.mark.parametrize(("given", "usage"), [
    (pod(), {"count/pods": "1", "pods": "1"}),
    (pod(requests={"cpu": "500m", "memory": "1Gi"}, limits={"cpu": "1", "memory": "2Gi"}),
     {"count/pods": "1", "pods": "1", "cpu": "500m", "requests.cpu": "500m", "memory": "1Gi",
      "requests.memory": "1Gi", "limits.cpu": "1", "limits.memory": "2Gi"}),
    ({**pod(requests={"cpu": "1"}), "status": {"phase": "Succeeded"}}, {"count/pods": "1"}),
    (pod(requests={"example.com/dongle": "2"}),
     {"count/pods": "1", "pods": "1", "requests.example.com/dongle": "2"}),
])
def test_pod_usage(given: dict[str, Any], usage: dict[str, str]) -> None:
    assert to_strings(PODS.usage(given)) == dict(sorted(usage.items()))


@pytest.mark.unit
def test_a_deleted_pod_past_its_grace_stops_counting() -> None:
    gone = pod(requests={"cpu": "1"})
    gone["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z",
                            deletionGracePeriodSeconds=30)
    assert "pods" in PODS.usage(gone, dt.datetime(2026, 1, 1, 0, 0, 10, tzinfo=dt.timezone.utc))
    assert "pods" not in PODS.usage(gone, dt.datetime(2026, 1, 1, 0, 1, tzinfo=dt.timezone.utc))


@pytest.mark.unit
def test_service_usage_counts_node_ports() -> None:
    usage = evaluator_for("services", "").usage(
        {"spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 443}]}})
    assert to_strings(usage) == {"count/services": "1", "services": "1",
                                 "services.loadbalancers": "0", "services.nodeports": "2"}


BURSTABLE = pod(requests={"cpu": "100m"})
SCOPED = [
    ("Terminating", pod(activeDeadlineSeconds=30), True),
    ("Terminating", BURSTABLE, False),
    ("NotTerminating", BURSTABLE, True),
    ("BestEffort", pod(), True),
    ("BestEffort", BURSTABLE, False),
    ("NotBestEffort", BURSTABLE, True),
    ("PriorityClass", pod(priorityClassName="high"), True),
    ("PriorityClass", pod(), False),
]


@pytest.mark.unit
@pytest.mark.parametrize(("scope", "given", "matches"), SCOPED)
def test_scopes(scope: str, given: dict[str, Any], matches: bool) -> None:
    assert PODS.matches(quota("q", {"pods": "5"}, scopes=[scope]), given) is matches


@pytest.mark.unit
@pytest.mark.parametrize(("operator", "values", "class_name", "matches"), [
    ("In", ["high"], "high", True), ("In", ["high"], "low", False),
    ("NotIn", ["high"], "low", True), ("NotIn", ["high"], "high", False),
    ("Exists", [], "", False), ("Exists", [], "low", True),
    ("DoesNotExist", [], "", True), ("DoesNotExist", [], "low", False),
    ("NotIn", ["high"], "", True), ("In", [""], "", False),
])
def test_priority_class_selector(operator: str, values: list[str], class_name: str,
                                 matches: bool) -> None:
    selected = quota("q", {"pods": "5"}, selector=[
        {"scopeName": "PriorityClass", "operator": operator, "values": values}])
    given = pod(priorityClassName=class_name) if class_name else pod()
    assert PODS.matches(selected, given) is matches


@pytest.mark.unit
@pytest.mark.parametrize(("quotas", "given", "used"), [
    ([quota("q", {"pods": "2", "requests.cpu": "1"})], pod(requests={"cpu": "500m"}),
     {"q": {"pods": "1", "requests.cpu": "500m"}}),
    ([quota("q", {"pods": "2"}, {"pods": "1"})], pod(), {"q": {"pods": "2"}}),
    # a quota of another resource, or a scope the pod is not in: nothing charged
    ([quota("q", {"services": "1"})], pod(), {}),
    ([quota("q", {"pods": "1"}, scopes=["BestEffort"])], pod(requests={"cpu": "1"},
                                                            limits={"cpu": "1"}), {}),
    ([quota("q", {"count/pods": "3"}, {"count/pods": "1"})], pod(), {"q": {"count/pods": "2"}}),
])
def test_charges(quotas: list[dict[str, Any]], given: dict[str, Any],
                 used: dict[str, dict[str, str]]) -> None:
    charges = check_request(quotas, PODS, given, None, "CREATE")
    assert {c.quota: to_strings(c.used) for c in charges} == used


@pytest.mark.unit
@pytest.mark.parametrize(("quotas", "given", "text"), [
    ([quota("pod-demo", {"pods": "2"}, {"pods": "2"})], pod(),
     "exceeded quota: pod-demo, requested: pods=1, used: pods=2, limited: pods=2"),
    ([quota("mem-cpu-demo", {"requests.memory": "1Gi", "limits.memory": "2Gi"},
            {"requests.memory": "600Mi", "limits.memory": "800Mi"})],
     pod(requests={"memory": "700Mi"}, limits={"memory": "1Gi"}),
     "exceeded quota: mem-cpu-demo, requested: requests.memory=700Mi, used: "
     "requests.memory=600Mi, limited: requests.memory=1Gi"),
    ([quota("compute", {"limits.cpu": "2", "requests.memory": "1Gi"})], pod(),
     "failed quota: compute: must specify limits.cpu for: app; requests.memory for: app"),
    ([{**quota("fresh", {"pods": "2"}), "status": {"hard": {"pods": "2"}}}], pod(),
     "status unknown for quota: fresh, resources: pods"),
])
def test_refusals(quotas: list[dict[str, Any]], given: dict[str, Any], text: str) -> None:
    with pytest.raises(QuotaRefusal) as refused:
        check_request(quotas, PODS, given, None, "CREATE")
    assert str(refused.value) == text


@pytest.mark.unit
def test_service_update_charges_only_the_added_node_ports() -> None:
    services = evaluator_for("services", "")
    old = {"metadata": {"resourceVersion": "5"}, "spec": {"type": "ClusterIP",
                                                          "ports": [{"port": 80}]}}
    new = {"metadata": {"resourceVersion": "5"}, "spec": {"type": "NodePort",
                                                          "ports": [{"port": 80}]}}
    q = quota("svc", {"services": "2", "services.nodeports": "1"},
              {"services": "1", "services.nodeports": "0"})
    charges = check_request([q], services, new, old, "UPDATE")
    assert [to_strings(c.used) for c in charges] == [{"services": "1", "services.nodeports": "1"}]


@pytest.mark.unit
def test_the_controller_sums_the_namespace_within_scopes() -> None:
    q = quota("q", {"pods": "10", "requests.memory": "4Gi", "count/configmaps": "5",
                    "count/deployments.apps": "3"}, used={}, scopes=["NotBestEffort"])
    q["spec"]["scopes"] = []  # the count/ names take no pod scope
    objects = {
        ("pods", ""): [pod(requests={"memory": "1Gi"}), pod(requests={"memory": "512Mi"}),
                       {**pod(requests={"memory": "1Gi"}), "status": {"phase": "Failed"}}],
        ("configmaps", ""): [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}],
        ("deployments", "apps"): [],
    }
    assert desired_status(q, objects) == {
        "hard": q["spec"]["hard"],
        "used": {"count/configmaps": "2", "count/deployments.apps": "0", "pods": "2",
                 "requests.memory": "1536Mi"}}


@pytest.mark.unit
def test_a_pod_update_that_makes_it_terminating_is_charged_to_the_terminating_quota() -> None:
    old = {**pod(), "metadata": {"name": "p", "namespace": "ns", "resourceVersion": "3"}}
    new = {**old, "spec": {**old["spec"], "activeDeadlineSeconds": 60}}
    q = quota("t", {"pods": "1"}, {"pods": "1"}, scopes=["Terminating"])
    with pytest.raises(QuotaRefusal, match="exceeded quota: t, requested: pods=1"):
        check_request([q], PODS, new, old, "UPDATE")
    assert check_request([q], PODS, new, new, "UPDATE") == []  # no scope change: not handled


@pytest.mark.unit
@pytest.mark.parametrize(("status_hard", "replenished", "full", "recount"), [
    ({"pods": "2"}, set(), False, False),  # charged by admission only: left alone
    (None, set(), False, True),  # new
    ({"pods": "1"}, set(), False, True),  # spec changed
    ({"pods": "2"}, {"ns"}, False, True),  # something in the namespace went
    ({"pods": "2"}, {"other"}, False, False),
    ({"pods": "2"}, set(), True, True),  # the full resync
])
def test_when_the_controller_recounts(status_hard: dict[str, str] | None, replenished: set[str],
                                      full: bool, recount: bool) -> None:
    q = quota("q", {"pods": "2"}, {"pods": "1"})
    if status_hard is None:
        del q["status"]
    else:
        q["status"]["hard"] = status_hard
    assert needs_recount(q, replenished, full) is recount


@pytest.mark.unit
def test_live_keys_leave_out_terminal_pods() -> None:
    objects = {("pods", ""): [pod("a"), {**pod("b"), "status": {"phase": "Succeeded"}}],
               ("configmaps", ""): [{"metadata": {"name": "c"}}]}
    assert live_keys("ns", objects) == {("ns", "pods", "", "a"), ("ns", "configmaps", "", "c")}
