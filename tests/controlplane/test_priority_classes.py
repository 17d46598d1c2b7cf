"""PriorityClasses and the Priority admission plugin (registry/priority.py,
validation/priorityclasses.py): upstream's rules as table tests, then real kubectl against a
real API server (the system classes exist, a pod's priority comes from its class, upstream's
403s and 422s)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nodelab.controlplane.errors import ApiError
from nodelab.controlplane.registry.priority import admit_class, admit_pod
from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.priorityclasses import validate_priorityclass
from tests.controlplane.apiserver import RunningApiServer


def pc(name: str, value: int, default: bool = False, policy: str = "PreemptLowerPriority"
       ) -> dict[str, Any]:
    return {"metadata": {"name": name}, "value": value, "globalDefault": default,
            "preemptionPolicy": policy}


def pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}], **spec}}


CLASSES = [pc("high", 1000), pc("low", 10, policy="Never")]


@pytest.mark.unit
@pytest.mark.parametrize(("spec", "classes", "expected"), [
    ({}, CLASSES, {"priority": 0, "preemptionPolicy": "PreemptLowerPriority"}),
    ({"priorityClassName": "high"}, CLASSES,
     {"priorityClassName": "high", "priority": 1000, "preemptionPolicy": "PreemptLowerPriority"}),
    ({"priorityClassName": "low"}, CLASSES,
     {"priorityClassName": "low", "priority": 10, "preemptionPolicy": "Never"}),
    ({}, [*CLASSES, pc("d2", 7, True), pc("d1", 5, True, "Never")],  # the lowest default wins
     {"priorityClassName": "d1", "priority": 5, "preemptionPolicy": "Never"}),
    ({"priorityClassName": "high", "priority": 1000}, CLASSES,
     {"priorityClassName": "high", "priority": 1000, "preemptionPolicy": "PreemptLowerPriority"}),
])
def test_admit_pod_fills_priority(spec: dict[str, Any], classes: list[dict[str, Any]],
                                  expected: dict[str, Any]) -> None:
    admitted = pod(**spec)
    admit_pod(admitted, classes)
    assert {k: v for k, v in admitted["spec"].items() if k != "containers"} == expected


@pytest.mark.unit
@pytest.mark.parametrize(("spec", "message"), [
    ({"priorityClassName": "nope"}, 'pods "p" is forbidden: no PriorityClass with name nope was '
                                    "found"),
    ({"priorityClassName": "high", "priority": 5},
     'pods "p" is forbidden: the integer value of priority (5) must not be provided in pod '
     "spec; priority admission controller computed 1000 from the given PriorityClass name"),
    ({"priorityClassName": "low", "preemptionPolicy": "PreemptLowerPriority"},
     'pods "p" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must '
     "not be provided in pod spec; priority admission controller computed Never from the given "
     "PriorityClass name"),
])
def test_admit_pod_refuses(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ApiError) as caught:
        admit_pod(pod(**spec), CLASSES)
    assert (caught.value.code, caught.value.message) == (403, message)


@pytest.mark.unit
def test_only_one_global_default() -> None:
    admit_class(pc("first", 1, True), CLASSES, creating=True)
    classes = [*CLASSES, pc("first", 1, True)]
    with pytest.raises(ApiError, match="PriorityClass first is already marked as default. Only "
                                       "one default can exist"):
        admit_class(pc("second", 2, True), classes, creating=True)
    admit_class(pc("first", 1, True), classes, creating=False)  # updating the default itself
    with pytest.raises(ApiError):
        admit_class(pc("high", 1000, True), classes, creating=False)


@pytest.mark.unit
@pytest.mark.parametrize(("obj", "old", "causes"), [
    (pc("ok", 1_000_000_000), None, []),
    (pc("too-high", 1_000_000_001), None,
     ["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]),
    (pc("system-node-critical", 2_000_001_000), None, []),
    (pc("system-mine", 5), None,
     ["metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for "
      "system use only. error: system-mine is not a known system priority class"]),
    (pc("system-cluster-critical", 5), None,
     ["metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for "
      "system use only. error: value of system-cluster-critical PriorityClass must be "
      "2000000000"]),
    (pc("x", 1, policy="Sometimes"), None,
     ['preemptionPolicy: Unsupported value: "Sometimes": supported values: "Never", '
      '"PreemptLowerPriority"']),
    (pc("x", 2), pc("x", 1), ["value: Forbidden: may not be changed in an update."]),
    (pc("x", 1, policy="Never"), pc("x", 1),
     ['preemptionPolicy: Invalid value: "Never": field is immutable']),
])
def test_validation(obj: dict[str, Any], old: dict[str, Any] | None, causes: list[str]) -> None:
    errors = FieldErrors()
    validate_priorityclass(errors, obj, old)
    assert [f"{c.field}: {c.message}" for c in errors.causes] == causes


# --- a real API server, real kubectl ----------------------------------------------------------


def create(apiserver: RunningApiServer, obj: dict[str, Any]) -> tuple[int, str]:
    result = apiserver.kubectl("create", "-f", "-", input=json.dumps(obj), check=False)
    return result.returncode, result.stderr


@pytest.mark.slow
def test_priority_classes_through_kubectl(apiserver: RunningApiServer) -> None:
    listed = apiserver.kubectl("get", "priorityclasses").stdout.split("\n")
    assert listed[0].split() == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    rows = {line.split()[0]: line.split() for line in listed[1:] if line}
    assert rows["system-node-critical"][1:3] == ["2000001000", "false"]
    assert rows["system-cluster-critical"][1:3] == ["2000000000", "false"]
    assert rows["system-cluster-critical"][-1] == "PreemptLowerPriority"
    assert create(apiserver, {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                              "metadata": {"name": "high-priority"}, "value": 1000000,
                              "globalDefault": False,
                              "description": "for important pods"})[0] == 0
    base: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
                          "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    critical = {**base, "metadata": {"name": "critical", "namespace": "kube-system"},
                "spec": {**base["spec"], "priorityClassName": "system-cluster-critical"}}
    code, stderr = create(apiserver, critical)
    assert code == 0, stderr
    spec = apiserver.kubectl_json("get", "pod", "critical", "-n", "kube-system")["spec"]
    assert (spec["priority"], spec["preemptionPolicy"]) == (2000000000, "PreemptLowerPriority")
    high = {**base, "metadata": {"name": "high"},
            "spec": {**base["spec"], "priorityClassName": "high-priority"}}
    assert create(apiserver, high)[0] == 0
    assert apiserver.kubectl_json("get", "pod", "high")["spec"]["priority"] == 1000000
    plain = {**base, "metadata": {"name": "plain"}}
    assert create(apiserver, plain)[0] == 0
    spec = apiserver.kubectl_json("get", "pod", "plain")["spec"]
    assert spec["priority"] == 0 and "priorityClassName" not in spec
    # an update that leaves priority out keeps it (the admission carries it over)
    apiserver.kubectl("label", "pod", "high", "tier=gold")
    assert apiserver.kubectl_json("get", "pod", "high")["spec"]["priority"] == 1000000
    code, stderr = create(apiserver, {**base, "metadata": {"name": "missing"}, "spec": {
        **base["spec"], "priorityClassName": "nope"}})
    assert code != 0 and ('pods "missing" is forbidden: no PriorityClass with name nope was '
                          "found") in stderr
    code, stderr = create(apiserver, {"apiVersion": "scheduling.k8s.io/v1",
                                      "kind": "PriorityClass",
                                      "metadata": {"name": "system-custom"}, "value": 5})
    assert code != 0 and "are reserved for system use only" in stderr
    code, stderr = create(apiserver, {"apiVersion": "scheduling.k8s.io/v1",
                                      "kind": "PriorityClass",
                                      "metadata": {"name": "too-high"}, "value": 2000000000})
    assert code != 0 and "maximum allowed value of a user defined priority is 1000000000" in \
        stderr
    for name in ("default-a", "default-b"):
        code, stderr = create(apiserver, {"apiVersion": "scheduling.k8s.io/v1",
                                          "kind": "PriorityClass", "metadata": {"name": name},
                                          "value": 10, "globalDefault": True})
    assert code != 0 and ("PriorityClass default-a is already marked as default. Only one "
                          "default can exist") in stderr
    defaulted = {**base, "metadata": {"name": "defaulted"}}
    assert create(apiserver, defaulted)[0] == 0
    spec = apiserver.kubectl_json("get", "pod", "defaulted")["spec"]
    assert (spec["priorityClassName"], spec["priority"]) == ("default-a", 10)
