"""When the disruption controller reads a custom owner's `scale` (disruption_scales.py, and
the `ScaleReader` that sends the reads): as upstream, whose finders read built-in owners from
informers and a custom one through the scale client each time the budget is synced (it or
one of its pods changed), with discovery from a RESTMapper reset every 30 s."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.controllers.disruption import ScaleReader
from nodelab.controlplane.controllers.disruption_scales import (
    Fingerprint,
    budget_fingerprint,
    discovery_due,
    scale_lookups,
    scale_reads,
)
from nodelab.kube.restclient import RestError
from nodelab.kube.verbs import ResourceVerbs
from tests.controlplane.controllers.test_disruption_plan import BY_RS1, owner, pdb, pod

pytestmark = pytest.mark.unit

CRONTAB = owner("CronTab", "ct", "uid-ct", "stable.example.com/v1")
CT = ("stable.example.com/v1", "CronTab", "default", "ct")


def test_scale_lookups_only_for_owners_of_other_kinds_of_budgets_that_scale() -> None:
    pods = [pod("a", ref=CRONTAB), pod("b", ref=BY_RS1), pod("c"),
            pod("d", ref=owner("Job", "j", "uid-j", "batch/v1"), labels={"app": "db"})]
    assert scale_lookups([pdb(minAvailable=1)], pods) == set()  # an int: pods are counted
    assert scale_lookups([pdb(minAvailable="50%")], pods) == {CT}
    assert scale_lookups([pdb(maxUnavailable=1, selector={})], pods) == {
        CT, ("batch/v1", "Job", "default", "j")}


def versioned(obj: dict[str, Any], version: str) -> dict[str, Any]:
    return {**obj, "metadata": {**obj["metadata"], "resourceVersion": version}}


BUDGET = versioned(pdb(maxUnavailable=1), "10")
PODS = [versioned(pod("a", ref=CRONTAB), "20"), versioned(pod("other", labels={}), "30")]
READ = {"uid-pdb": budget_fingerprint(BUDGET, PODS)}


@pytest.mark.parametrize(("budgets", "pods", "read_for", "answered", "due"), [
    pytest.param([BUDGET], PODS, {}, set(), {CT}, id="never read"),
    pytest.param([BUDGET], PODS, READ, {CT}, set(), id="nothing changed: the kept answer"),
    pytest.param([BUDGET], PODS, READ, set(), {CT}, id="nothing changed but no answer kept"),
    pytest.param([versioned(BUDGET, "11")], PODS, READ, {CT}, {CT}, id="the budget changed"),
    pytest.param([BUDGET], [versioned(PODS[0], "21"), PODS[1]], READ, {CT}, {CT},
                 id="one of its pods changed"),
    pytest.param([BUDGET], [PODS[0], versioned(PODS[1], "31")], READ, {CT}, set(),
                 id="a pod it does not select changed"),
    pytest.param([BUDGET], [*PODS, versioned(pod("b", ref=CRONTAB), "40")], READ, {CT}, {CT},
                 id="a pod of it appeared"),
    pytest.param([versioned(pdb(minAvailable=1), "10")], PODS, {}, set(), set(),
                 id="an integer minAvailable reads no scale"),
])
def test_scale_reads(budgets: list[dict[str, Any]], pods: list[dict[str, Any]],
                     read_for: dict[str, Fingerprint], answered: set[Any], due: set[Any]
                     ) -> None:
    assert scale_reads(budgets, pods, read_for, answered)[0] == due


@pytest.mark.parametrize(("read_at", "now", "due"), [
    (None, 5.0, True), (0.0, 29.9, False), (0.0, 30.0, True)])
def test_discovery_is_read_again_at_the_restmappers_reset(read_at: float | None, now: float,
                                                          due: bool) -> None:
    assert discovery_due(read_at, now) is due


class CountingApi(ResourceVerbs):
    """An API that answers discovery and one CronTab's scale, and counts the requests."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.kinds = [{"name": "crontabs", "kind": "CronTab"},
                      {"name": "crontabs/scale", "kind": "Scale"}]
        self.fail_scale = False

    def request(self, method: str, url_path: str, body: Any = None,
                content_type: str = "application/json", query: dict[str, str] | None = None,
                timeout: float | None = None) -> dict[str, Any]:
        self.sent.append(url_path)
        if url_path == "/apis/stable.example.com/v1":
            return {"resources": self.kinds}
        if self.fail_scale:
            raise RestError(500, "Internal Server Error", "etcd is away")
        return {"metadata": {"uid": "uid-ct"}, "spec": {"replicas": 3}}


SCALE_PATH = "/apis/stable.example.com/v1/namespaces/default/crontabs/ct/scale"
DISCOVERY = "/apis/stable.example.com/v1"


def test_a_custom_owners_scale_is_read_when_upstream_would_sync_the_budget() -> None:
    api, clock = CountingApi(), [0.0]
    reader = ScaleReader(lambda: clock[0])
    assert reader.scales(api, [BUDGET], PODS) == {CT: ("uid-ct", 3)}
    assert api.sent == [DISCOVERY, SCALE_PATH]
    for clock[0] in (1.0, 2.0, 45.0):  # passes with nothing changed: no request at all
        assert reader.scales(api, [BUDGET], PODS) == {CT: ("uid-ct", 3)}
    assert api.sent == [DISCOVERY, SCALE_PATH]
    changed = [versioned(PODS[0], "21"), PODS[1]]
    reader.scales(api, [BUDGET], changed)  # a pod changed; discovery was reset at 30 s
    assert api.sent == [DISCOVERY, SCALE_PATH, DISCOVERY, SCALE_PATH]
    reader.scales(api, [versioned(BUDGET, "11")], changed)  # the budget: its scale, cached kinds
    assert api.sent[4:] == [SCALE_PATH]


def test_a_failed_read_fails_this_pass_and_is_tried_again() -> None:
    api = CountingApi()
    api.fail_scale = True
    reader = ScaleReader(lambda: 0.0)
    assert reader.scales(api, [BUDGET], PODS) == {
        CT: "500 Internal Server Error: etcd is away"}
    api.fail_scale = False
    assert reader.scales(api, [BUDGET], PODS) == {CT: ("uid-ct", 3)}
    assert api.sent == [DISCOVERY, SCALE_PATH, SCALE_PATH]


def test_a_kind_missing_from_cached_discovery_is_looked_up_again() -> None:
    api = CountingApi()
    kinds, api.kinds = api.kinds, []
    clock = [0.0]
    reader = ScaleReader(lambda: clock[0])
    assert reader.scales(api, [BUDGET], PODS) == {
        CT: 'no matches for kind "CronTab" in version "stable.example.com/v1"'}
    assert api.sent == [DISCOVERY]  # read in this pass: not read twice
    api.kinds = kinds  # the CRD is established; the budget changes
    clock[0] = 5.0
    assert reader.scales(api, [versioned(BUDGET, "11")], PODS) == {CT: ("uid-ct", 3)}
    assert api.sent == [DISCOVERY, DISCOVERY, SCALE_PATH]
