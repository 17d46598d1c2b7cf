"""Every view's static form from one real lab: control plane, kubelet, runtime, CNI and
kube-proxy all running, a pod with a readiness probe behind a Service.

The views are only read here; what each layer does is tested in its own folder. What this
checks is that the views find their data where the real components put it: the Node and its
Lease, the pod's events and probe, the pod's network namespace wired into the node, its
sandbox namespaces and cgroup, the Service chains in the node's namespace.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from nodelab.errors import NodelabError
from nodelab.host.netlink_snapshot import ROOT
from nodelab.lab.lab import Lab
from nodelab.widgets import (
    CgroupView,
    ClusterView,
    NetworkView,
    NodeView,
    PodLifecycleView,
    ProbeView,
    SandboxView,
    ServiceView,
)
from nodelab.widgets.namespace_source import namespace_inodes
from tests.widgets.conftest import needs_root

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]


def eventually(check: Callable[[], Any], timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"not true after {timeout}s (last: {last!r})")




def test_node_and_cluster_views(cluster: Lab) -> None:
    node = NodeView.for_lab(cluster, "node1")
    snapshot = eventually(lambda: (s := node.refresh()).lease is not None and s)
    conditions = {c["type"]: c["status"] for c in snapshot.node["status"]["conditions"]}
    assert conditions["Ready"] == "True"
    html = node.static_html()
    assert "Node node1" in html and "holder node1" in html and "podCIDR 10.244." in html

    view = ClusterView.for_lab(cluster)
    view.refresh()
    html = view.static_html()
    assert "on node1" in html and "default/web" in html and ">Running<" in html


def test_pod_lifecycle_and_probe_views(cluster: Lab) -> None:
    pod = PodLifecycleView.for_lab(cluster, "web")
    pod.refresh()
    texts = [m.text for m in pod.timeline()]
    assert texts[0] == "created (API server stored the Pod)"
    assert any("condition Ready=True" in t for t in texts)
    assert any("container app started (running)" in t for t in texts)

    probe = ProbeView.for_lab(cluster, "web")
    probe.refresh()
    html = probe.static_html()
    assert "GET http://:8080/" in html and "ready=True" in html


def pod_netns(cluster: Lab) -> tuple[str, int]:
    view = NetworkView.for_node(cluster, "node1")
    snapshot = view.refresh()
    node = cluster.topology.nodes[0].netns
    api = k8s.CoreV1Api(k8s_config.new_client_from_config(str(cluster.kubeconfig)))  # type: ignore[no-untyped-call]
    addons = {p.status.pod_ip for p in api.list_namespaced_pod("kube-system").items}

    def addon(ns: Any) -> bool:  # the lab's cluster DNS pod is wired into the node too
        eth0 = ns.link("eth0")
        return eth0 is not None and any(a.split("/")[0] in addons for a in eth0.addresses)

    pods = [ns for ns in snapshot.namespaces if ns.name not in (ROOT, node) and not addon(ns)]
    assert pods, f"no pod namespace wired into {node}: {[n.name for n in snapshot.namespaces]}"
    (pod,) = pods
    eth0 = pod.link("eth0")
    assert eth0 is not None and eth0.peer is not None and eth0.peer.namespace == node
    assert any(a.startswith("10.244.") for a in eth0.addresses)
    assert pod.name in view.static_html()
    return pod.name, pod.inode


def test_network_sandbox_and_cgroup_views(cluster: Lab) -> None:
    _name, inode = pod_netns(cluster)
    pids = [int(p) for p in (e.name for e in Path("/proc").iterdir()) if p.isdigit()
            and namespace_inodes(p).get("net") == inode]
    assert pids, "no process in the pod's network namespace"
    sandbox = SandboxView(min(pids))
    snapshot = sandbox.refresh()
    assert snapshot.alive and len(snapshot.members) >= 2, "pause and the web container"
    spaces = {n.type: n for n in snapshot.namespaces}
    assert spaces["net"].inode == inode and not spaces["uts"].shared_with_host

    web = next(m for m in snapshot.members if "httpd" in m.cmdline or "web" in m.cmdline)
    memory_line = next(line for line in Path(f"/proc/{web.pid}/cgroup").read_text().splitlines()
                       if ":memory:" in line or line.startswith("0::"))
    path = memory_line.split(":", 2)[2]
    assert path.startswith("/nodelab/"), path
    cgroups = CgroupView({"app": path})
    stats = cgroups.refresh()[0][1]
    assert stats.exists and stats.memory_limit == 64 << 20 and web.pid in stats.pids
    assert stats.cpu_quota_cores == pytest.approx(0.5)
    assert "64.0 MiB" in cgroups.static_html()


def test_service_view(cluster: Lab) -> None:
    view = ServiceView.for_node(cluster, "node1")
    paths = eventually(lambda: [p for p in view.refresh().paths
                                if p.name.startswith("default/web") and p.endpoints])
    (path,) = paths
    assert path.address.startswith("10.96.") and path.address.endswith(":80")
    assert [e.destination.endswith(":8080") for e in path.endpoints] == [True]
    assert path.address in view.static_html() or path.address.split(":")[0] in view.static_html()


def test_sandbox_and_cgroup_views_for_a_pod(cluster: Lab) -> None:
    sandbox = SandboxView.for_pod(cluster, "web")
    snapshot = sandbox.refresh()
    assert snapshot.alive and any("httpd" in m.cmdline for m in snapshot.members)
    assert "sandbox of pod default/web" in sandbox.static_html()

    cgroups = CgroupView.for_pod(cluster, "web")
    assert set(cgroups.groups) == {"pod", "app"}
    assert cgroups.groups["app"].startswith(cgroups.groups["pod"] + "/")
    assert f"/nodelab/{cluster.name}/" in cgroups.groups["pod"]
    stats = dict(cgroups.refresh())
    assert stats["app"].memory_limit == 64 << 20 and stats["app"].pids
    with pytest.raises(NodelabError, match="is it running"):
        CgroupView.for_pod(cluster, "no-such-pod")


def test_network_view_highlights_what_a_real_cni_add_made(cluster: Lab) -> None:
    view = NetworkView.for_node(cluster, "node1")
    view.mark()
    api = k8s_config.new_client_from_config(config_file=str(cluster.kubeconfig))  # type: ignore[no-untyped-call]
    core = k8s.CoreV1Api(api)
    core.create_namespaced_pod("default", {
        "metadata": {"name": "second"},
        "spec": {"containers": [{"name": "app", "image": cluster.images.ref("web")}]}})
    pod_ip = eventually(lambda: core.read_namespaced_pod("second", "default").status.pod_ip)
    api.close()

    def pod_appeared() -> bool:
        view.refresh()
        diff = view.diff
        return diff is not None and any(address.startswith(f"{pod_ip}/")
                                        for _ref, address in diff.added_addresses)

    eventually(pod_appeared)
    diff = view.diff
    assert diff is not None
    (netns,) = diff.added_namespaces
    assert any(ref.namespace == cluster.topology.nodes[0].netns for ref in diff.added_links), (
        "the host end of the pod's veth, in the node namespace")
    assert any(ref.namespace == netns and address.startswith(f"{pod_ip}/")
               for ref, address in diff.added_addresses)
    html = view.static_html()
    assert f"+ netns {netns}" in html and f"+ {pod_ip}/" in html
