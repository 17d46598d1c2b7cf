"""The LimitRanger plugin's decisions (nodelab/kube/quota/limit_ranges.py) as table tests:
the defaults merged into a new pod, the min/max/ratio checks with upstream's texts, and the
canonical quantities those texts print."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.kube.quantities import canonical_text
from nodelab.kube.quota.limit_ranges import (
    ANNOTATION,
    aggregate,
    claim_problems,
    default_pod,
    pod_problems,
    pod_totals,
)
from nodelab.kube.quota.resource_lists import to_strings


def limit_range(*items: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "lr"}, "spec": {"limits": list(items)}}


def pod(*containers: dict[str, Any], init: list[dict[str, Any]] | None = None
        ) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": list(containers)}
    if init:
        spec["initContainers"] = init
    return {"metadata": {"name": "p"}, "spec": spec}


def container(name: str = "app", requests: dict[str, str] | None = None,
              limits: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    resources = {k: v for k, v in (("requests", requests), ("limits", limits)) if v is not None}
    return {"name": name, "resources": resources, **extra}


@pytest.mark.unit
@pytest.mark.parametrize(("text", "canonical"), [
    ("1.5Gi", "1536Mi"), ("1024Mi", "1Gi"), ("0.5", "500m"), ("2000m", "2"), ("1500000", "1500k"),
    ("512", "512"), ("1e3", "1e3"), ("100Mi", "100Mi"), ("0", "0"), ("1.5", "1500m"),
    ("2048", "2048"), ("0.0001", "100u"),
])
def test_canonical_quantities(text: str, canonical: str) -> None:
    assert canonical_text(text) == canonical


DEFAULTS = {"type": "Container", "default": {"cpu": "1", "memory": "512Mi"},
            "defaultRequest": {"cpu": "500m", "memory": "256Mi"}}


@pytest.mark.unit
@pytest.mark.parametrize(("given", "resources", "annotation"), [
    (container(), {"requests": {"cpu": "500m", "memory": "256Mi"},
                   "limits": {"cpu": "1", "memory": "512Mi"}},
     "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for "
     "container app"),
    # the docs' "specify a request, not a limit": the limit comes from the default
    (container(requests={"memory": "128Mi"}),
     {"requests": {"memory": "128Mi", "cpu": "500m"}, "limits": {"cpu": "1", "memory": "512Mi"}},
     "LimitRanger plugin set: cpu request for container app; cpu, memory limit for container "
     "app"),
    # everything set: nothing changes, no annotation
    (container(requests={"cpu": "1", "memory": "1Gi"}, limits={"cpu": "2", "memory": "2Gi"}),
     {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}, None),
])
def test_defaults_merge(given: dict[str, Any], resources: dict[str, Any],
                        annotation: str | None) -> None:
    admitted = pod(given)
    changed = default_pod(limit_range(DEFAULTS), admitted)
    assert admitted["spec"]["containers"][0]["resources"] == resources
    assert changed == (annotation is not None)
    assert (admitted["metadata"].get("annotations") or {}).get(ANNOTATION) == annotation


@pytest.mark.unit
def test_defaults_reach_init_containers_and_skip_pod_items() -> None:
    admitted = pod(container(), init=[container("setup")])
    default_pod(limit_range({"type": "Pod", "max": {"cpu": "4"}},
                            {"type": "Container", "defaultRequest": {"cpu": "100m"}}), admitted)
    assert admitted["spec"]["initContainers"][0]["resources"] == {"requests": {"cpu": "100m"}}
    assert admitted["metadata"]["annotations"][ANNOTATION] == (
        "LimitRanger plugin set: cpu request for container app; cpu request for init container "
        "setup")


MEM = {"type": "Container", "max": {"memory": "1Gi"}, "min": {"memory": "500Mi"}}
CPU = {"type": "Container", "max": {"cpu": "800m"}, "min": {"cpu": "200m"}}


@pytest.mark.unit
@pytest.mark.parametrize(("item", "given", "problems"), [
    (MEM, container(requests={"memory": "600Mi"}, limits={"memory": "800Mi"}), []),
    (MEM, container(requests={"memory": "800Mi"}, limits={"memory": "1.5Gi"}),
     ["maximum memory usage per Container is 1Gi, but limit is 1536Mi"]),
    (MEM, container(requests={"memory": "100Mi"}, limits={"memory": "800Mi"}),
     ["minimum memory usage per Container is 500Mi, but request is 100Mi"]),
    (MEM, container(),
     ["minimum memory usage per Container is 500Mi.  No request is specified",
      "maximum memory usage per Container is 1Gi.  No limit is specified"]),
    (CPU, container(requests={"cpu": "100m"}, limits={"cpu": "1.5"}),
     ["minimum cpu usage per Container is 200m, but request is 100m",
      "maximum cpu usage per Container is 800m, but limit is 1500m"]),
    (CPU, container(requests={"cpu": "900m"}, limits={"cpu": "800m"}),
     ["maximum cpu usage per Container is 800m, but request is 900m"]),
    ({"type": "Container", "min": {"cpu": "200m"}},
     container(requests={"cpu": "300m"}, limits={"cpu": "100m"}),
     ["minimum cpu usage per Container is 200m, but limit is 100m"]),
    ({"type": "Container", "maxLimitRequestRatio": {"memory": "2"}},
     container(requests={"memory": "100Mi"}, limits={"memory": "300Mi"}),
     ["memory max limit to request ratio per Container is 2, but provided ratio is 3.000000"]),
    ({"type": "Container", "maxLimitRequestRatio": {"memory": "2"}},
     container(limits={"memory": "300Mi"}),
     ["memory max limit to request ratio per Container is 2, but no request is specified or "
      "request is 0"]),
    ({"type": "Pod", "max": {"cpu": "1"}},
     container(requests={"cpu": "600m"}, limits={"cpu": "600m"}), []),
])
def test_container_and_pod_checks(item: dict[str, Any], given: dict[str, Any],
                                  problems: list[str]) -> None:
    assert pod_problems(limit_range(item), pod(given)) == problems


@pytest.mark.unit
def test_pod_item_sums_containers_and_takes_the_largest_init_container() -> None:
    two = pod(container("a", requests={"cpu": "600m"}, limits={"cpu": "600m"}),
              container("b", requests={"cpu": "600m"}, limits={"cpu": "600m"}),
              init=[container("init", requests={"cpu": "2"}, limits={"cpu": "2"}),
                    container("side", requests={"cpu": "100m"}, limits={"cpu": "100m"},
                              restartPolicy="Always")])
    assert to_strings(pod_totals(two, "requests")) == {"cpu": "2"}
    assert pod_problems(limit_range({"type": "Pod", "max": {"cpu": "1500m"}}), two) == [
        "maximum cpu usage per Pod is 1500m, but limit is 2"]


@pytest.mark.unit
def test_claims_are_checked_on_their_request() -> None:
    item = {"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "2Gi"}}
    claim = {"spec": {"resources": {"requests": {"storage": "5Gi"}}}}
    assert claim_problems(limit_range(item), claim) == [
        "maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi"]


@pytest.mark.unit
@pytest.mark.parametrize(("problems", "text"), [
    (["a"], "a"), (["a", "b"], "[a, b]"), (["a", "a"], "a"), (["a", "b", "a"], "[a, b]"),
])
def test_aggregate_text(problems: list[str], text: str) -> None:
    assert aggregate(problems) == text
