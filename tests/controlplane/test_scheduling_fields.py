"""Pod affinity and topology spread fields through a real API server and real kubectl:
bad values get upstream's 422 with the field path, and matchLabelKeys/mismatchLabelKeys are
merged into the selectors of a new pod (not of its template), as upstream's pod strategy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.controlplane.apiserver import RunningApiServer

pytestmark = pytest.mark.slow

HOST = "kubernetes.io/hostname"
ANTI = "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"
PREFERRED = "spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]"
SPREAD = "spec.topologySpreadConstraints[0]"


def _pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "web", "rev": "7"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def _anti(**term: Any) -> dict[str, Any]:
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": HOST, "labelSelector": {"matchLabels": {"app": "web"}}, **term}]}}


def _spread(**fields: Any) -> list[dict[str, Any]]:
    return [{"maxSkew": 1, "topologyKey": HOST, "whenUnsatisfiable": "DoNotSchedule",
             "labelSelector": {"matchLabels": {"app": "web"}}, **fields}]


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("empty topologyKey", {"affinity": _anti(topologyKey="")},
     f"{ANTI}.topologyKey: Required value: can not be empty"),
    ("bad topologyKey", {"affinity": _anti(topologyKey="not a key")},
     f"{ANTI}.topologyKey: Invalid value: \"not a key\""),
    ("bad selector operator", {"affinity": _anti(labelSelector={"matchExpressions": [
        {"key": "app", "operator": "Is", "values": ["x"]}]})},
     f"{ANTI}.labelSelector.matchExpressions[0].operator: Invalid value: \"Is\": "
     "not a valid selector operator"),
    ("In without values", {"affinity": _anti(labelSelector={"matchExpressions": [
        {"key": "app", "operator": "In"}]})},
     f"{ANTI}.labelSelector.matchExpressions[0].values: Required value: must be specified "
     "when `operator` is 'In' or 'NotIn'"),
    ("matchLabelKeys without labelSelector", {"affinity": {"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": HOST, "matchLabelKeys": ["rev"]}]}}},
     "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]."
     "matchLabelKeys: Forbidden: must not be specified when labelSelector is not set"),
    ("a key in matchLabelKeys and mismatchLabelKeys",
     {"affinity": _anti(matchLabelKeys=["rev"], mismatchLabelKeys=["rev"])},
     f"{ANTI}.matchLabelKeys[0]: Invalid value: \"rev\": exists in both matchLabelKeys and "
     "mismatchLabelKeys"),
    ("weight out of range", {"affinity": {"podAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 101, "podAffinityTerm": {
            "topologyKey": HOST, "labelSelector": {}}}]}}},
     f"{PREFERRED}.weight: Invalid value: 101: must be in the range 1-100"),
    ("maxSkew 0", {"topologySpreadConstraints": _spread(maxSkew=0)},
     f"{SPREAD}.maxSkew: Invalid value: 0: must be greater than zero"),
    ("unknown whenUnsatisfiable", {"topologySpreadConstraints": _spread(
        whenUnsatisfiable="Sometimes")},
     f"{SPREAD}.whenUnsatisfiable: Unsupported value: \"Sometimes\": supported values: "
     "\"DoNotSchedule\", \"ScheduleAnyway\""),
    ("minDomains with ScheduleAnyway", {"topologySpreadConstraints": _spread(
        whenUnsatisfiable="ScheduleAnyway", minDomains=2)},
     f"{SPREAD}.minDomains: Invalid value: 2: can only use minDomains if "
     "whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway"),
    ("a repeated key and action", {"topologySpreadConstraints": _spread() * 2},
     f"{SPREAD}.{{topologyKey, whenUnsatisfiable}}: Duplicate value: "
     "\"{kubernetes.io/hostname, DoNotSchedule}\""),
    ("unknown nodeTaintsPolicy", {"topologySpreadConstraints": _spread(
        nodeTaintsPolicy="Maybe")},
     f"{SPREAD}.nodeTaintsPolicy: Unsupported value: \"Maybe\": supported values: \"Honor\", "
     "\"Ignore\""),
]


@pytest.mark.parametrize(("spec", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_values_get_a_422_naming_the_field(apiserver: RunningApiServer,
                                               spec: dict[str, Any], expected: str) -> None:
    result = apiserver.kubectl("create", "-f", "-", input=json.dumps(_pod("bad", **spec)),
                               check=False)
    assert result.returncode != 0, "accepted"
    assert "is invalid" in result.stderr, result.stderr
    assert expected in result.stderr, result.stderr


def test_label_keys_are_merged_into_a_new_pods_selectors(apiserver: RunningApiServer) -> None:
    affinity = _anti(matchLabelKeys=["rev"], mismatchLabelKeys=["app", "absent"])
    pod = _pod("merged", affinity=affinity,
               topologySpreadConstraints=_spread(matchLabelKeys=["rev"]))
    apiserver.kubectl("create", "-f", "-", input=json.dumps(pod))
    try:
        spec = apiserver.kubectl_json("get", "pod", "merged")["spec"]
        term = spec["affinity"]["podAntiAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"][0]
        assert term["labelSelector"]["matchExpressions"] == [
            {"key": "rev", "operator": "In", "values": ["7"]},
            {"key": "app", "operator": "NotIn", "values": ["web"]}]
        assert term["matchLabelKeys"] == ["rev"]
        assert spec["topologySpreadConstraints"][0]["labelSelector"]["matchExpressions"] == [
            {"key": "rev", "operator": "In", "values": ["7"]}]
    finally:
        apiserver.kubectl("delete", "pod", "merged", "--wait=false")
