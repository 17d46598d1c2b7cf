"""The scheduler's VolumeBinding plugin (volume_binding.py) against upstream's texts: the
PreFilter reasons, the node filter, what PreBind writes, and the FailedScheduling message
`schedule` gives."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.scheduler.cluster import Cluster
from nodelab.controlplane.scheduler.filters import NodeInfo
from nodelab.controlplane.scheduler.loop import SchedulerController
from nodelab.controlplane.scheduler.plan import schedule
from nodelab.controlplane.scheduler.volume_binding import (
    ERR_BIND_CONFLICT,
    ERR_NODE_CONFLICT,
    Volumes,
    VolumeWrite,
    assume,
    filter_node,
    prefilter,
    volume_bindings,
)
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer

pytestmark = pytest.mark.unit


def pod(*claims: str) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c"}], "volumes": [
                {"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}}
                for i, c in enumerate(claims)]}}


def claim(name: str, volume: str = "", cls: str = "", **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                         **extra.pop("meta", {})},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": cls,
                     "resources": {"requests": {"storage": "1Gi"}},
                     **({"volumeName": volume} if volume else {})},
            "status": {"phase": extra.pop("phase", "Bound" if volume else "Pending")}}


def node(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **labels}},
            "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"}}}


def volume(name: str, cls: str = "", on: str = "", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": name},
        "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"],
                 "storageClassName": cls, "local": {"path": "/mnt/x"}, **spec},
        "status": {"phase": "Available"}}
    if on:
        body["spec"]["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [on]}]}]}}
    return body


LATE = {"metadata": {"name": "late"}, "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "WaitForFirstConsumer"}


def state(*objects: dict[str, Any]) -> Volumes:
    claims = {("default", o["metadata"]["name"]): o for o in objects if "resources" in
              o.get("spec", {})}
    volumes = {o["metadata"]["name"]: o for o in objects if "capacity" in o.get("spec", {})}
    return Volumes(claims, volumes, {"late": LATE})


@pytest.mark.parametrize(("claims", "reason"), [
    ((), ""),
    ((claim("c", "v"),), ""),
    ((), 'persistentvolumeclaim "c" not found'),
    ((claim("c"),), "pod has unbound immediate PersistentVolumeClaims"),
    ((claim("c", cls="late"),), ""),  # the scheduler binds it
    ((claim("c", "v", phase="Lost"),),
     'persistentvolumeclaim "c" bound to non-existent persistentvolume "v"'),
    ((claim("c", "v", meta={"deletionTimestamp": "2026-01-01T00:00:00Z"}),),
     'persistentvolumeclaim "c" is being deleted'),
])
def test_prefilter(claims: tuple[dict[str, Any], ...], reason: str) -> None:
    assert prefilter(pod("c") if claims or reason else pod(), state(*claims)) == reason


def test_an_unbound_immediate_claim_is_refused_on_every_node() -> None:
    decision = schedule(pod("c"), [NodeInfo(node("n1")), NodeInfo(node("n2"))],
                        cluster=Cluster(volumes=state(claim("c"))))
    assert decision.node is None
    assert decision.message == "0/2 nodes are available: pod has unbound immediate " \
        "PersistentVolumeClaims."


def test_a_bound_volume_keeps_the_pod_on_its_node() -> None:
    volumes = state(claim("c", "v"), volume("v", on="n2"))
    assert filter_node(pod("c"), node("n1"), volumes) == [ERR_NODE_CONFLICT]
    assert filter_node(pod("c"), node("n2"), volumes) == []
    decision = schedule(pod("c"), [NodeInfo(node("n1")), NodeInfo(node("n2"))],
                        cluster=Cluster(volumes=volumes))
    assert decision.node == "n2"


def test_a_late_claim_goes_where_a_volume_fits() -> None:
    volumes = state(claim("c", cls="late"), volume("v", cls="late", on="n2"))
    assert filter_node(pod("c"), node("n1"), volumes) == [ERR_BIND_CONFLICT]
    assert filter_node(pod("c"), node("n2"), volumes) == []
    writes = volume_bindings(pod("c"), node("n2"), volumes)
    assert writes == [VolumeWrite("persistentvolumes", "", "v", {
        "spec": {"claimRef": {"kind": "PersistentVolumeClaim", "namespace": "default",
                              "name": "c", "uid": "uid-c", "apiVersion": "v1",
                              "resourceVersion": None}},
        "metadata": {"annotations": {"pv.kubernetes.io/bound-by-controller": "yes"}}})]


def test_two_late_claims_need_two_volumes() -> None:
    volumes = state(claim("a", cls="late"), claim("b", cls="late"),
                    volume("v", cls="late", on="n1"))
    assert filter_node(pod("a", "b"), node("n1"), volumes) == [ERR_BIND_CONFLICT]


def test_the_volume_patch_carries_the_version_read() -> None:
    """A volume the PV controller changed since is a 409, not an overwritten claimRef."""
    read = volume("v", cls="late", on="n1")
    read["metadata"]["resourceVersion"] = "42"
    writes = volume_bindings(pod("c"), node("n1"), state(claim("c", cls="late"), read))
    assert [w.body["metadata"]["resourceVersion"] for w in writes] == ["42"]


def test_an_assumed_volume_is_not_offered_again() -> None:
    volumes = state(claim("a", cls="late"), claim("b", cls="late"),
                    volume("v", cls="late", on="n1"))
    assumed = assume(volumes, volume_bindings(pod("a"), node("n1"), volumes))
    assert assumed.volumes["v"]["spec"]["claimRef"]["name"] == "a"
    assert filter_node(pod("b"), node("n1"), assumed) == [ERR_BIND_CONFLICT]
    assert filter_node(pod("a"), node("n1"), assumed) == []


class _LaggingApi:
    """Answers a patch with the object as it was (the write has not reached the cache) and
    records what was patched."""

    def __init__(self, store: Store) -> None:
        self.store, self.patched = store, list[tuple[str, str, Any]]()

    def patch(self, kind: str, namespace: str | None, name: str, body: Any,
              subresource: str | None = None, content_type: str = "") -> dict[str, Any]:
        self.patched.append((kind, name, body))
        found = self.store.get(kind, namespace or "", name)
        return found if found is not None else {"metadata": {"name": name}}

    def create(self, kind: str, namespace: str | None, body: dict[str, Any],
               subresource_of: str = "", subresource: str = "") -> dict[str, Any]:
        return body


def test_two_pods_in_one_pass_do_not_share_a_volume() -> None:
    store = Store()
    store.handle("nodes", "LIST", [node("n1")])
    store.handle("storageclasses", "LIST", [LATE])
    store.handle("persistentvolumes", "LIST", [volume("v", cls="late", on="n1")])
    store.handle("persistentvolumeclaims", "LIST",
                 [claim("a", cls="late"), claim("b", cls="late")])
    pods = []
    for index, name in enumerate(("a", "b")):
        one = pod(name)
        one["metadata"].update(name=f"p{name}", uid=f"uid-p{name}",
                               creationTimestamp=f"2026-01-01T00:00:0{index}Z")
        pods.append(one)
    store.handle("pods", "LIST", pods)
    api = _LaggingApi(store)
    SchedulerController().sync(store, Writer(api, store))  # type: ignore[arg-type]
    claim_refs = [(name, body["spec"]["claimRef"]["name"]) for kind, name, body in api.patched
                  if kind == "persistentvolumes"]
    assert claim_refs == [("v", "a")]
