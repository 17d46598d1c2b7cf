"""An API server restart resumes every watcher with no event lost, also when the restarted
server no longer has the history the watchers would resume from (410 Gone, then a relist).

The API server is stopped through the supervisor; while it is down its store's watch history
is compacted away and one object is written straight into the store (what a kube-apiserver
restart does to its watch cache, and etcd compaction to old revisions). Every watcher that
resumes from an older resourceVersion then gets 410 and must list again: the test's own
reflector (nodelab's, the one the agents use) must end with exactly the API's objects, each
at its last acknowledged content, and the lab's own watchers (scheduler, controllers,
kubelet, kube-proxy) must carry a Deployment and Service created afterwards into rules.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from kubernetes import client as k8s

from nodelab.controlplane.storage.store import Store
from nodelab.kube.reflector import Reflector
from tests.conftest import LabFactory, needs_root
from tests.faults.invariants import core_api, rule_endpoints, slice_endpoints
from tests.lab.kube import eventually, in_node, kubectl, kubectl_json, ready_pods

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]


class Writer:
    """Create `cm-<i>` then update it once, one write every 0.1 s; acknowledged data only."""

    def __init__(self, api: k8s.CoreV1Api) -> None:
        self.api = api
        self.acknowledged: dict[str, str] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        index = 0
        while not self.stopped.is_set():
            name = f"cm-{index}"
            for data in ("created", "updated"):
                while True:
                    try:
                        body = {"metadata": {"name": name}, "data": {"v": data}}
                        if data == "created":
                            self.api.create_namespaced_config_map("default", body,
                                                                  _request_timeout=5)
                        else:
                            self.api.replace_namespaced_config_map(name, "default", body,
                                                                   _request_timeout=5)
                        break
                    except k8s.ApiException as exc:
                        if exc.status == 409 and data == "created":
                            break  # an earlier attempt was acknowledged after all
                        time.sleep(0.2)
                    except Exception:  # the API server is away: try again
                        time.sleep(0.2)
                self.acknowledged[name] = data
                self.stopped.wait(0.1)
            index += 1

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=60)


def test_watchers_resume_after_a_restart_that_lost_the_watch_history(
        make_lab: LabFactory) -> None:
    lab = make_lab()
    api = core_api(lab)
    seen: dict[str, dict[str, Any]] = {}
    lists: list[int] = []
    lock = threading.Lock()

    def handle(_kind: str, event: str, obj: Any) -> None:
        with lock:
            if event == "LIST":
                lists.append(len(obj))
                seen.clear()
                seen.update({o["metadata"]["name"]: o for o in obj})
            elif event == "DELETED":
                seen.pop(obj["metadata"]["name"], None)
            else:
                seen[obj["metadata"]["name"]] = obj

    reflector = Reflector("configmaps", api.list_namespaced_config_map, handle,
                          namespace="default").start()
    assert reflector.synced.wait(30)
    writer = Writer(api)
    eventually(lambda: len(writer.acknowledged) >= 5, 30, 0.1)

    lab.stop_daemon("controlplane")
    store = Store(lab.paths.root / "controlplane" / "controlplane.db", history_limit=0)
    store.create("core/configmaps", "default", "written-while-down", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "written-while-down", "namespace": "default",
                     "uid": str(uuid.uuid4()), "creationTimestamp": "2026-01-01T00:00:00Z"},
        "data": {"v": "offline"}})
    store.close()
    assert lab.start_daemon("controlplane").state == "running"
    eventually(lambda: len(writer.acknowledged) >= 15, 60, 0.1)
    writer.stop()

    def converged() -> bool:
        listed = {c.metadata.name: c.data["v"]
                  for c in api.list_namespaced_config_map("default").items
                  if c.metadata.name != "kube-root-ca.crt"}
        with lock:
            mine = {n: o["data"]["v"] for n, o in seen.items() if n != "kube-root-ca.crt"}
        return mine == listed and all(listed.get(n) == v for n, v in writer.acknowledged.items())

    eventually(converged, 60, 0.2)
    reflector.stop()
    assert "written-while-down" in seen, "only a relist after 410 shows this object"
    assert len(lists) >= 2, "the reflector listed again after the restart"

    # the lab's own watchers resumed too: scheduler, controllers, kubelet and kube-proxy
    kubectl(lab, "create", "deployment", "after", f"--image={lab.images.ref('web')}",
            "--replicas=2")
    kubectl(lab, "expose", "deployment", "after", "--port=80", "--target-port=8080")
    pods = eventually(lambda: len(p := ready_pods(lab, "app=after")) == 2 and p, 90)
    wanted = {f"{p['status']['podIP']}:8080" for p in pods}
    eventually(lambda: wanted <= (rules := rule_endpoints(lab)) and rules == slice_endpoints(lab),
               60)
    cluster_ip = kubectl_json(lab, "get", "service", "after")["spec"]["clusterIP"]
    assert in_node(lab, "curl", "-s", "-m", "5", f"http://{cluster_ip}/").stdout.startswith(
        "hello from after-")
