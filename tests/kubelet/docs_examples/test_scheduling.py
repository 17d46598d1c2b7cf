"""The docs' pod affinity and topology spread examples on a two-node lab (see __init__ for
the adaptations): where each pod lands, and the FailedScheduling text of the ones that stay
Pending, word for word as upstream's scheduler writes it.

Sources (under content/en/examples/):
- pods/pod-with-pod-affinity.yaml@81dca134e217806c3f4f0dff1365514bce01829c, and the
  `redis-cache` and `web-server` Deployments written in the page "Assigning Pods to Nodes"
  (content/en/docs/concepts/scheduling-eviction/assign-pod-node.md, inter-pod affinity);
- pods/topology-spread-constraints/one-constraint.yaml@7a090ad7363dc8f01a2304c4
  (page: "Pod Topology Spread Constraints", example: one topology spread constraint).
The pages use three or four nodes; on two, the third replica of each Deployment has nowhere
to go, which is the Pending case asserted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nodelab.lab.lab import Lab, take_down_lab
from tests.conftest import IS_ROOT, unique_lab_name
from tests.kubelet.docs_examples.harness import apply, pod, scheduling_failure
from tests.lab.kube import eventually, kubectl, kubectl_json

pytestmark = [pytest.mark.slow, pytest.mark.privileged]

NO_VICTIMS = "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.."


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    if not IS_ROOT:
        pytest.skip("needs root: a real lab")
    name = unique_lab_name()
    try:
        lab = Lab.up(name, 2, progress=lambda _message: None)
        # the pages' node labels: zones for affinity, `zone` for the spread example
        kubectl(lab, "label", "node", "node1", "topology.kubernetes.io/zone=zone-a", "zone=zoneA")
        kubectl(lab, "label", "node", "node2", "topology.kubernetes.io/zone=zone-b", "zone=zoneB")
        yield lab
    finally:
        take_down_lab(name)


def node_of(lab: Lab, name: str) -> str:
    found: str = eventually(lambda: pod(lab, name)["spec"].get("nodeName"), timeout=60)
    return found


def settled(lab: Lab, selector: str, total: int, bound: int) -> list[dict[str, Any]]:
    """The pods of `selector` once there are `total` of them and `bound` have a node."""
    def pods() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = kubectl_json(lab, "get", "pods", "-l", selector)["items"]
        on_nodes = [p for p in items if p["spec"].get("nodeName")]
        return items if len(items) == total and len(on_nodes) == bound else None
    found: list[dict[str, Any]] = eventually(pods, timeout=60)
    return found


def nodes_and_pending(pods: list[dict[str, Any]]) -> tuple[list[str], str]:
    """The nodes of the bound pods (sorted) and the name of the one left Pending."""
    nodes = sorted(p["spec"]["nodeName"] for p in pods if p["spec"].get("nodeName"))
    return nodes, next(p["metadata"]["name"] for p in pods if not p["spec"].get("nodeName"))


def pinned(name: str, node: str, labels: str, image: str) -> str:
    """A pod bound to `node` by `nodeName` (what the pages' existing pods stand for)."""
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {labels}}}
spec:
  nodeName: {node}
  containers: [{{name: pause, image: {image}}}]
"""


def test_pod_with_pod_affinity_waits_for_its_zone_then_joins_it(lab: Lab) -> None:
    pause = lab.images.ref("pause")
    apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: with-pod-affinity}}
spec:
  affinity:
    podAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector:
          matchExpressions:
          - {{key: security, operator: In, values: [S1]}}
        topologyKey: topology.kubernetes.io/zone
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          labelSelector:
            matchExpressions:
            - {{key: security, operator: In, values: [S2]}}
          topologyKey: topology.kubernetes.io/zone
  containers:
  - {{name: with-pod-affinity, image: {pause}}}
""")
    # no pod with security=S1 anywhere, and the pod is not one itself: it waits
    assert scheduling_failure(lab, "with-pod-affinity") == (
        "0/2 nodes are available: 2 node(s) didn't match pod affinity rules. preemption: 0/2 "
        "nodes are available: 2 Preemption is not helpful for scheduling..")
    apply(lab, pinned("security-s1", "node2", "{security: S1}", pause))
    assert node_of(lab, "with-pod-affinity") == "node2"  # zone-b, where the S1 pod runs


def test_redis_cache_and_web_server_deployments(lab: Lab) -> None:
    image = lab.images.ref("web")
    apply(lab, f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: redis-cache}}
spec:
  selector: {{matchLabels: {{app: store}}}}
  replicas: 3
  template:
    metadata: {{labels: {{app: store}}}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector:
              matchExpressions:
              - {{key: app, operator: In, values: [store]}}
            topologyKey: kubernetes.io/hostname
      containers:
      - {{name: redis-server, image: {image}}}
""")
    nodes, pending = nodes_and_pending(settled(lab, "app=store", 3, 2))
    assert nodes == ["node1", "node2"]  # one per node
    assert scheduling_failure(lab, pending) == (
        "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. " + NO_VICTIMS)
    apply(lab, f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web-server}}
spec:
  selector: {{matchLabels: {{app: web-store}}}}
  replicas: 3
  template:
    metadata: {{labels: {{app: web-store}}}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector:
              matchExpressions:
              - {{key: app, operator: In, values: [web-store]}}
            topologyKey: kubernetes.io/hostname
        podAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector:
              matchExpressions:
              - {{key: app, operator: In, values: [store]}}
            topologyKey: kubernetes.io/hostname
      containers:
      - {{name: web-app, image: {image}}}
""")
    nodes, waiting = nodes_and_pending(settled(lab, "app=web-store", 3, 2))
    assert nodes == ["node1", "node2"]  # each beside a cache, never two on a node
    assert scheduling_failure(lab, waiting) == (
        "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. " + NO_VICTIMS)


def test_one_topology_spread_constraint(lab: Lab) -> None:
    pause = lab.images.ref("pause")
    apply(lab, pinned("foo-a", "node1", "{foo: bar}", pause))
    spread = """
  topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: zone
    whenUnsatisfiable: DoNotSchedule
    labelSelector:
      matchLabels:
        foo: bar"""
    apply(lab, f"""
kind: Pod
apiVersion: v1
metadata:
  name: mypod
  labels:
    foo: bar
spec:{spread}
  containers:
  - name: pause
    image: {pause}
""")
    # zoneA holds one foo=bar pod, zoneB none: a second in zoneA would make the skew 2
    assert node_of(lab, "mypod") == "node2"
    apply(lab, pinned("foo-b", "node2", "{foo: bar}", pause))
    # zoneA 1, zoneB 2: a pod that may only use node2 (zoneB) breaks maxSkew there
    apply(lab, f"""
kind: Pod
apiVersion: v1
metadata:
  name: mypod-zone-b
  labels:
    foo: bar
spec:{spread}
    nodeAffinityPolicy: Ignore
  nodeSelector: {{kubernetes.io/hostname: node2}}
  containers:
  - name: pause
    image: {pause}
""")
    assert scheduling_failure(lab, "mypod-zone-b") == (
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) "
        "didn't match pod topology spread constraints. preemption: 0/2 nodes are available: 1 "
        "No preemption victims found for incoming pod, 1 Preemption is not helpful for "
        "scheduling..")
