"""The update-strategy defaults of the workloads (each kind's SetDefaults_, in
registry/defaults/workloads.py), as a table: the type RollingUpdate unless set, then rollingUpdate's
fields; another type gets none; what is set stays."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.registry.defaults import apply_defaults

pytestmark = pytest.mark.unit


def workload(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "w"}, "spec": spec}


@pytest.mark.parametrize(("key", "spec", "field", "strategy"), [
    ("apps/deployments", {}, "strategy",
     {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
    ("apps/deployments", {"strategy": {"type": "Recreate"}}, "strategy", {"type": "Recreate"}),
    ("apps/deployments", {"strategy": {"rollingUpdate": {"maxSurge": 2}}}, "strategy",
     {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 2}}),
    ("apps/daemonsets", {}, "updateStrategy",
     {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
    ("apps/daemonsets", {"updateStrategy": {"type": "OnDelete"}}, "updateStrategy",
     {"type": "OnDelete"}),
    ("apps/statefulsets", {}, "updateStrategy",
     {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
    ("apps/statefulsets", {"updateStrategy": {"rollingUpdate": {"partition": 2}}},
     "updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}),
])
def test_update_strategy_defaults(key: str, spec: dict[str, Any], field: str,
                                  strategy: dict[str, Any]) -> None:
    obj = workload(**spec)
    apply_defaults(key, obj)
    assert obj["spec"][field] == strategy


def test_a_strategy_that_is_not_an_object_is_left_to_validation() -> None:
    obj = workload(strategy={"type": "RollingUpdate", "rollingUpdate": "fast"})
    apply_defaults("apps/deployments", obj)
    assert obj["spec"]["strategy"]["rollingUpdate"] == "fast"
