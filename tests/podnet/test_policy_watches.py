"""podnet's NetworkPolicy enforcer against a real API server: with no policy in the cluster it
reads no pod or namespace at all (a node of a cluster without policies has no watch of every
pod); the first policy starts the pod and namespace reflectors and is enforced, and deleting
the last one stops them; a stopped enforcer starts none. The ruleset is handed to a list here
instead of `nft`, so the host's tables are never touched (tests/lab/test_network_policies.py
loads it on a real node)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from nodelab.kube.restclient import RestClient, RestConfig, load_kubeconfig
from nodelab.podnet.policies import PolicyEnforcer
from nodelab.podnet.policy_plan import plan_pod_rules
from nodelab.podnet.policy_ruleset import ruleset
from tests.controlplane.apiserver import RunningApiServer, running_apiserver

pytestmark = pytest.mark.slow
NODE = "nl-netpol-node"
POD_IP = "10.244.7.5"
NO_POLICY = ruleset(plan_pod_rules(NODE, [], [], []))


class CallsRecorded(RestClient):
    """The real client, noting the kind of every list or watch it opens."""

    def __init__(self, config: RestConfig) -> None:
        super().__init__(config)
        self.opened: list[tuple[str, bool]] = []

    def lister(self, kind: str, namespace: str | None = None) -> Callable[..., Any]:
        list_fn = super().lister(kind, namespace)

        def recorded(**options: Any) -> Any:
            self.opened.append((kind, bool(options.get("watch"))))
            return list_fn(**options)

        return recorded


@pytest.fixture(scope="module")
def apiserver() -> Iterator[RunningApiServer]:
    with running_apiserver() as server:
        yield server


def _synced_until(enforcer: PolicyEnforcer, condition: Callable[[], bool], what: str,
                  timeout: float = 30.0) -> None:
    """Run the enforcer's sync (what its thread does on each change) until `condition`."""
    deadline = time.monotonic() + timeout
    while True:
        enforcer.sync()
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_pods_and_namespaces_are_watched_only_while_a_policy_exists(
        apiserver: RunningApiServer) -> None:
    core = k8s.CoreV1Api(apiserver.client())
    networking = k8s.NetworkingV1Api(apiserver.client())
    pod: Any = {"metadata": {"name": "web", "labels": {"app": "web"}},
                "spec": {"nodeName": NODE, "containers": [{"name": "c", "image": "busybox"}]}}
    core.create_namespaced_pod("default", pod)
    core.patch_namespaced_pod_status("web", "default", {"status": {
        "phase": "Running", "podIP": POD_IP, "podIPs": [{"ip": POD_IP}]}})
    api = CallsRecorded(load_kubeconfig(apiserver.kubeconfig))
    loaded: list[str] = []
    enforcer = PolicyEnforcer(api, NODE, load=loaded.append)
    enforcer.policies.start()
    try:
        _synced_until(enforcer, lambda: loaded == [NO_POLICY], "the empty ruleset")
        time.sleep(0.5)  # long enough for a pod reflector, were one started, to open its list
        enforcer.sync()
        assert {kind for kind, _ in api.opened} == {"networkpolicies"}
        assert enforcer.selected == []

        policy: Any = {"metadata": {"name": "web-ingress"},
                       "spec": {"podSelector": {"matchLabels": {"app": "web"}},
                                "policyTypes": ["Ingress"]}}
        networking.create_namespaced_network_policy("default", policy)
        _synced_until(enforcer, lambda: POD_IP in loaded[-1], "the policy's ruleset")
        selected = list(enforcer.selected)
        assert sorted(r.kind for r in selected) == ["namespaces", "pods"]
        assert all(r.running() for r in selected)
        assert {("pods", False), ("namespaces", False)} <= set(api.opened)  # listed
        # each watch opens once its list is in: maybe after the ruleset loaded
        _synced_until(enforcer, lambda: {("pods", True), ("namespaces", True)} <= set(
            api.opened), "the pod and namespace watches")

        networking.delete_namespaced_network_policy("web-ingress", "default")
        _synced_until(enforcer, lambda: loaded[-1] == NO_POLICY, "the empty ruleset again")
        assert enforcer.selected == []
        _synced_until(enforcer, lambda: not any(r.running() for r in selected),
                      "the pod and namespace reflectors to end")
    finally:
        enforcer.stop()


def test_a_stopped_enforcer_starts_no_reflector(apiserver: RunningApiServer) -> None:
    api = CallsRecorded(load_kubeconfig(apiserver.kubeconfig))
    enforcer = PolicyEnforcer(api, NODE, load=lambda _text: None)
    enforcer.stop()
    # its thread's sync saw a policy just before: what it starts now nobody would stop
    enforcer.watch_selected(True)
    assert enforcer.selected == []
    assert api.opened == []
