"""maxSurge / maxUnavailable validation of Deployments, DaemonSets and StatefulSets, as
upstream's pkg/apis/apps/validation (`ValidateRollingUpdateDeployment`,
`ValidateRollingUpdateDaemonSet`, `validateRollingUpdateStatefulSet`) answers: one table per
kind, each row the (field, message) pairs upstream reports for that rolling update."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.validation.daemonsets import validate_daemonset
from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.statefulsets import validate_statefulset
from nodelab.controlplane.validation.workloads import validate_workload
from nodelab.kube.intstr import PERCENT_MESSAGE

pytestmark = pytest.mark.unit

TEMPLATE = {"metadata": {"labels": {"app": "a"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
NEGATIVE = "Invalid value: {}: must be greater than or equal to 0"


def _rollout_causes(validate: Any, obj: dict[str, Any]) -> list[tuple[str, str]]:
    errors = FieldErrors()
    validate(errors, obj)
    return [(c.field.rsplit(".", 1)[-1], c.message) for c in errors.causes
            if "rollingUpdate" in c.field]


def _deployment(rolling: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "a"}},
                     "template": TEMPLATE,
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": rolling}}}


@pytest.mark.parametrize(("rolling", "expected"), [
    ({"maxUnavailable": "25%", "maxSurge": "25%"}, []),
    ({"maxUnavailable": 1, "maxSurge": 0}, []),
    ({"maxUnavailable": 0, "maxSurge": 1}, []),
    ({"maxUnavailable": "100%", "maxSurge": "200%"}, []),  # only maxUnavailable is bounded
    ({"maxUnavailable": 0, "maxSurge": "0%"},
     [("maxUnavailable", "Invalid value: 0: may not be 0 when `maxSurge` is 0")]),
    ({}, [("maxUnavailable", "Invalid value: 0: may not be 0 when `maxSurge` is 0")]),
    ({"maxUnavailable": "20Percent", "maxSurge": 1},
     [("maxUnavailable", f'Invalid value: "20Percent": {PERCENT_MESSAGE}')]),
    ({"maxUnavailable": 1, "maxSurge": "5"},  # a number in a string is no percentage
     [("maxSurge", f'Invalid value: "5": {PERCENT_MESSAGE}')]),
    ({"maxUnavailable": "5.5%", "maxSurge": 1},
     [("maxUnavailable", f'Invalid value: "5.5%": {PERCENT_MESSAGE}')]),
    ({"maxUnavailable": -1, "maxSurge": 1}, [("maxUnavailable", NEGATIVE.format(-1))]),
    ({"maxUnavailable": 1, "maxSurge": -1}, [("maxSurge", NEGATIVE.format(-1))]),
    ({"maxUnavailable": "-1%", "maxSurge": 1},
     [("maxUnavailable", f'Invalid value: "-1%": {PERCENT_MESSAGE}')]),
    ({"maxUnavailable": "110%", "maxSurge": 1},
     [("maxUnavailable", 'Invalid value: "110%": must not be greater than 100%')]),
])
def test_deployment_rolling_update(rolling: dict[str, Any],
                                   expected: list[tuple[str, str]]) -> None:
    assert _rollout_causes(lambda e, o: validate_workload(e, o, "Deployment"),
                           _deployment(rolling)) == expected


def _daemonset(rolling: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "DaemonSet", "metadata": {"name": "ds"},
            "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": TEMPLATE,
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": rolling}}}


@pytest.mark.parametrize(("rolling", "expected"), [
    ({"maxUnavailable": 1, "maxSurge": 0}, []),
    ({"maxUnavailable": 0, "maxSurge": 1}, []),
    ({"maxUnavailable": "10%", "maxSurge": 0}, []),
    ({"maxUnavailable": 0, "maxSurge": "100%"}, []),
    ({"maxUnavailable": 1, "maxSurge": 1},
     [("maxSurge", "Invalid value: 1: may not be set when maxUnavailable is non-zero")]),
    ({"maxUnavailable": "10%", "maxSurge": "10%"},
     [("maxSurge", 'Invalid value: "10%": may not be set when maxUnavailable is non-zero')]),
    ({"maxUnavailable": 0, "maxSurge": 0},
     [("maxUnavailable", "Required value: cannot be 0 when maxSurge is 0")]),
    ({"maxUnavailable": "0%", "maxSurge": "0%"},
     [("maxUnavailable", "Required value: cannot be 0 when maxSurge is 0")]),
    ({"maxUnavailable": "101%", "maxSurge": 0},
     [("maxUnavailable", 'Invalid value: "101%": must not be greater than 100%')]),
    ({"maxUnavailable": 0, "maxSurge": "101%"},
     [("maxSurge", 'Invalid value: "101%": must not be greater than 100%')]),
    ({"maxUnavailable": -1, "maxSurge": 0}, [("maxUnavailable", NEGATIVE.format(-1))]),
    ({"maxUnavailable": "1", "maxSurge": 0},  # invalid, and IntValue() 1 counts as set
     [("maxUnavailable", f'Invalid value: "1": {PERCENT_MESSAGE}')]),
])
def test_daemonset_rolling_update(rolling: dict[str, Any],
                                  expected: list[tuple[str, str]]) -> None:
    assert _rollout_causes(validate_daemonset, _daemonset(rolling)) == expected


def _statefulset(rolling: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "StatefulSet", "metadata": {"name": "s"},
            "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": TEMPLATE,
                     "podManagementPolicy": "OrderedReady",
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": rolling}}}


NODELAB_ONE_AT_A_TIME = ("Forbidden: nodelab's StatefulSet controller updates one pod at a "
                         "time; leave it unset or 1")


@pytest.mark.parametrize(("rolling", "expected"), [
    ({"partition": 0}, []),
    ({"maxUnavailable": 1}, []),
    ({"maxUnavailable": 0}, [("maxUnavailable", "Invalid value: 0: cannot be 0")]),
    ({"maxUnavailable": "0%"}, [("maxUnavailable", 'Invalid value: "0%": cannot be 0')]),
    ({"maxUnavailable": "101%"},
     [("maxUnavailable", 'Invalid value: "101%": must not be greater than 100%')]),
    ({"maxUnavailable": "abc"},
     [("maxUnavailable", f'Invalid value: "abc": {PERCENT_MESSAGE}'),
      ("maxUnavailable", 'Invalid value: "abc": cannot be 0')]),
    # valid upstream, refused by nodelab's controller (one pod at a time), naming the field
    ({"maxUnavailable": 2}, [("maxUnavailable", NODELAB_ONE_AT_A_TIME)]),
    ({"maxUnavailable": "50%"}, [("maxUnavailable", NODELAB_ONE_AT_A_TIME)]),
])
def test_statefulset_rolling_update(rolling: dict[str, Any],
                                    expected: list[tuple[str, str]]) -> None:
    assert _rollout_causes(validate_statefulset, _statefulset(rolling)) == expected
