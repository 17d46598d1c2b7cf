"""The pod affinity and topology spread checks and the create-time label-key merge as pure
functions (the same rules through kubectl: test_scheduling_fields.py)."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.registry.label_keys import merge_label_keys
from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.scheduling import pod_affinity, topology_spread_constraints

pytestmark = pytest.mark.unit

HOST = "kubernetes.io/hostname"
APP = {"matchLabels": {"app": "web"}}


def _errors(check: Any, value: Any) -> list[tuple[str, str]]:
    errors = FieldErrors()
    check(errors, "spec.x", value)
    return [(c.field, c.message) for c in errors.causes]


def _term(**fields: Any) -> dict[str, Any]:
    return {"topologyKey": HOST, "labelSelector": APP, **fields}


REQ = "spec.x.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"


@pytest.mark.parametrize(("term", "expected"), [
    (_term(), []),
    (_term(namespaces=["Bad_NS"]), [f"{REQ}.namespace"]),
    (_term(namespaceSelector={"matchExpressions": [{"key": "k", "operator": "Exists",
                                                    "values": ["v"]}]}),
     [f"{REQ}.namespaceSelector.matchExpressions[0].values"]),
    (_term(labelSelector={"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "app", "operator": "In", "values": ["web"]}]}, matchLabelKeys=["app"]),
     [f"{REQ}[0]"]),  # upstream's path, without `.matchLabelKeys`
    (_term(mismatchLabelKeys=["bad key"]), [f"{REQ}.mismatchLabelKeys[0]"]),
], ids=["valid", "namespace name", "values with Exists", "key twice", "bad key"])
def test_pod_affinity_terms(term: dict[str, Any], expected: list[str]) -> None:
    found = _errors(pod_affinity, {"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term]}})
    assert [field for field, _message in found] == expected


@pytest.mark.parametrize(("constraint", "expected"), [
    ({}, []),
    ({"minDomains": 0}, ["spec.x[0].minDomains"]),
    ({"topologyKey": ""}, ["spec.x[0].topologyKey"]),
    ({"nodeAffinityPolicy": "Always"}, ["spec.x[0].nodeAffinityPolicy"]),
    ({"matchLabelKeys": ["rev"], "labelSelector": None}, ["spec.x[0].matchLabelKeys"]),
    ({"matchLabelKeys": ["app"], "labelSelector": {"matchLabels": {"app": "web"},
                                                   "matchExpressions": [{
                                                       "key": "app", "operator": "In",
                                                       "values": ["web"]}]}},
     ["spec.x[0].matchLabelKeys[0]"]),
], ids=["valid", "minDomains 0", "no key", "policy", "keys without selector", "key twice"])
def test_spread_constraints(constraint: dict[str, Any], expected: list[str]) -> None:
    full = {"maxSkew": 1, "topologyKey": HOST, "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": APP, **constraint}
    assert [field for field, _m in _errors(topology_spread_constraints, [full])] == expected


def test_label_keys_merge_only_keys_the_pod_has() -> None:
    pod: dict[str, Any] = {"metadata": {"labels": {"app": "web", "rev": "7"}}, "spec": {
        "affinity": {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 1, "podAffinityTerm": _term(matchLabelKeys=["rev", "absent"],
                                                  labelSelector={})}]},
                     "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                         {"topologyKey": HOST, "mismatchLabelKeys": ["app"]}]}},
        "topologySpreadConstraints": [{"labelSelector": dict(APP), "matchLabelKeys": ["rev"]}]}}
    merge_label_keys(pod)
    term = pod["spec"]["affinity"]["podAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert term["labelSelector"] == {"matchExpressions": [
        {"key": "rev", "operator": "In", "values": ["7"]}]}
    anti = pod["spec"]["affinity"]["podAntiAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert "labelSelector" not in anti  # a missing selector stays missing (matches nothing)
    assert pod["spec"]["topologySpreadConstraints"][0]["labelSelector"] == {
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "rev", "operator": "In", "values": ["7"]}]}
