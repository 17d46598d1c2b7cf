"""How `join` approves CSRs against a cluster that also decides (kind's csrapproving
controller), and which CSRs count: a small in-memory fake of the `Rest` calls it makes."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from nodelab.errors import NodelabError
from nodelab.lab.join.tls_bootstrap import approve, approve_serving, lab_requests
from tests.join.test_plans import NODES, serving

pytestmark = pytest.mark.unit

Object = dict[str, Any]
APPROVED = {"type": "Approved", "status": "True", "reason": "AutoApproved"}


class FakeCluster:
    """The CSR calls of `nodelab.kube.rest.Rest`, on a dict of CSRs. `decide_first` names CSRs
    another approver approves just before our PUT lands (our PUT then gets 409)."""

    def __init__(self, *csrs: Object) -> None:
        self.csrs = {c["metadata"]["name"]: copy.deepcopy(c) for c in csrs}
        self.decide_first: dict[str, Object | None] = {}
        self.puts: list[str] = []

    def request(self, method: str, path: str) -> Object:
        assert method == "GET" and path.endswith("/certificatesigningrequests")
        return {"items": [copy.deepcopy(c) for c in self.csrs.values()]}

    def get(self, kind: str, namespace: None, name: str) -> Object:
        return copy.deepcopy(self.csrs[name])

    def replace(self, kind: str, namespace: None, name: str, body: Object,
                subresource: str) -> Object:
        assert subresource == "approval"
        self.puts.append(name)
        stored = self.csrs[name]
        if name in self.decide_first:
            condition = self.decide_first.pop(name)
            stored["metadata"]["resourceVersion"] = str(
                int(stored["metadata"]["resourceVersion"]) + 1)
            if condition:
                stored.setdefault("status", {}).setdefault("conditions", []).append(condition)
        if body["metadata"]["resourceVersion"] != stored["metadata"]["resourceVersion"]:
            raise ApiException(status=409, reason="Conflict")
        stored["status"] = body["status"]
        stored["metadata"]["resourceVersion"] = str(
            int(stored["metadata"]["resourceVersion"]) + 1)
        return copy.deepcopy(stored)


def named(name: str, obj: Object, **status: Any) -> Object:
    obj = copy.deepcopy(obj)
    obj["metadata"] = {"name": name, "resourceVersion": "1"}
    if status:
        obj["status"] = status
    return obj


def own_serving(name: str, **status: Any) -> Object:
    return named(name, serving("system:node:jb-node1", "system:node:jb-node1", ["jb-node1"],
                               ["172.29.7.11"]), **status)


def test_a_csr_approved_first_by_the_cluster_is_left_alone() -> None:
    cluster = FakeCluster(own_serving("c1"))
    cluster.decide_first["c1"] = APPROVED
    approve(cluster, cluster.get("", None, "c1"), "m")  # type: ignore[arg-type]
    assert cluster.puts == ["c1"]  # the 409, then nothing more
    types = [c["type"] for c in cluster.csrs["c1"]["status"]["conditions"]]
    assert types == ["Approved"]


def test_a_conflict_without_a_decision_approves_the_fresh_object() -> None:
    cluster = FakeCluster(own_serving("c1"))
    cluster.decide_first["c1"] = None  # something else changed it (a label, say)
    approve(cluster, cluster.get("", None, "c1"), "m")  # type: ignore[arg-type]
    assert cluster.puts == ["c1", "c1"]
    assert cluster.csrs["c1"]["status"]["conditions"][0]["reason"] == "NodelabJoin"


def test_serving_approval_survives_a_conflict() -> None:
    cluster = FakeCluster(own_serving("s1"))
    cluster.decide_first["s1"] = APPROVED
    assert approve_serving(cluster, NODES, lambda _m: None) == set()  # type: ignore[arg-type]
    assert len(cluster.csrs["s1"]["status"]["conditions"]) == 1


def test_a_former_labs_issued_csr_does_not_count() -> None:
    old = own_serving("old", conditions=[APPROVED], certificate="eA==")
    cluster = FakeCluster(old, own_serving("new"))
    issued = approve_serving(cluster, NODES, lambda _m: None,  # type: ignore[arg-type]
                             stale={"old"})
    assert issued == set()
    assert cluster.puts == ["new"]
    assert cluster.csrs["new"]["status"]["conditions"][0]["type"] == "Approved"


def test_a_failed_serving_csr_is_reported_with_its_reason() -> None:
    failed = {"type": "Failed", "status": "True", "reason": "SignerValidationFailure",
              "message": "usages must be ..."}
    cluster = FakeCluster(own_serving("f1", conditions=[APPROVED, failed]))
    with pytest.raises(NodelabError, match="usages must be"):
        approve_serving(cluster, NODES, lambda _m: None)  # type: ignore[arg-type]


def test_down_deletes_exactly_the_labs_csrs() -> None:
    client = {"spec": {"signerName": "kubernetes.io/kube-apiserver-client-kubelet"}}
    cluster = FakeCluster(
        own_serving("serving-1"),
        named("node-csr-jb-node1-0a1b2c", client),
        named("node-csr-jb-node1-node1-0a1b2c", client),  # lab "jb-node1"'s node
        named("node-csr-other-0a1b2c", client),
        named("someone", serving("system:node:other", "system:node:other", ["other"], [])),
    )
    assert lab_requests(cluster, ["jb-node1"]) == [  # type: ignore[arg-type]
        "node-csr-jb-node1-0a1b2c", "serving-1"]


def test_api_refusals_become_errors_that_say_what_to_do(tmp_path: Any) -> None:
    from nodelab.cli.join import failed_join
    from nodelab.lab.join.steps import cluster_call

    with pytest.raises(NodelabError, match="needs an admin kubeconfig"), cluster_call(
            "approve CertificateSigningRequests", "https://c:6443"):
        raise ApiException(status=403, reason="Forbidden")
    with pytest.raises(NodelabError, match="409 Conflict"), cluster_call("x", "https://c"):
        raise ApiException(status=409, reason="Conflict")
    assert "admin kubeconfig" in str(failed_join("nope", ApiException(status=403,
                                                                       reason="Forbidden"),
                                                 tmp_path))


def test_a_join_that_failed_partway_says_down_cleans_up(tmp_path: Any) -> None:
    import ipaddress

    from nodelab.cli.join import failed_join
    from nodelab.lab.description import LabDescription
    from nodelab.lab.paths import LabPaths

    paths = LabPaths.for_lab("jb", tmp_path)
    paths.root.mkdir(parents=True)
    LabDescription("jb", ipaddress.IPv4Network("172.29.7.0/24"), 1,
                   joined="https://c:6443").save(paths.description)
    error = failed_join("jb", NodelabError("no serving certificate"), tmp_path)
    assert "`nodelab down --name jb`" in str(error)
    assert "down" not in str(failed_join("other", NodelabError("x"), tmp_path))
