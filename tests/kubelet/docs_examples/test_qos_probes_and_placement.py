"""The docs' QoS, resource, probe and scheduling examples on a lab: the QoS page's qosClass,
the memory page's OOMKilled container and unschedulable pod, the probe page's restarts and
Unhealthy events, taints and tolerations, node labels with nodeSelector and node affinity,
extended resources, and a refused scheduling gate (see __init__ for the adaptations).

The probe examples take the longest (the exec probe's file goes away after 30 s), so every
pod that needs no node change is applied when the module starts; the node's taint, labels and
capacity are changed by the tests that need them, and put back.
"""

from __future__ import annotations

import json

import pytest

from nodelab.lab.lab import Lab
from tests.kubelet.docs_examples.harness import (
    apply,
    events,
    pod,
    ready,
    refused,
    scheduling_failure,
)
from tests.lab.kube import eventually, kubectl

pytestmark = [pytest.mark.slow, pytest.mark.privileged]

# agnhost's `liveness` server, in busybox: /healthz answers 200 for 10 s, then 500
LIVENESS_SERVER = r"""
cat > /tmp/answer <<'EOF'
#!/bin/sh
while read -r line; do case $line in "$(printf '\r')"|"") break;; esac; done
if [ $(( $(date +%s) - $(cat /tmp/started) )) -lt 10 ]; then
  printf 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'
else
  printf 'HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nConnection: close\r\n\r\nerror'
fi
EOF
chmod +x /tmp/answer; date +%s > /tmp/started; exec nc -ll -p 8080 -e /tmp/answer
"""


def manifests(busybox: str, web: str) -> str:
    server = json.dumps(LIVENESS_SERVER)
    return f"""
apiVersion: v1
kind: Namespace
metadata: {{name: qos-example}}
---
apiVersion: v1
kind: Pod
metadata: {{name: qos-demo, namespace: qos-example}}
spec:
  containers:
  - name: qos-demo-ctr
    image: {web}
    resources:
      limits: {{memory: 200Mi, cpu: 700m}}
      requests: {{memory: 200Mi, cpu: 700m}}
---
apiVersion: v1
kind: Pod
metadata: {{name: qos-demo-2, namespace: qos-example}}
spec:
  containers:
  - name: qos-demo-2-ctr
    image: {web}
    resources: {{limits: {{memory: 200Mi}}, requests: {{memory: 100Mi}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: qos-demo-3, namespace: qos-example}}
spec:
  containers:
  - {{name: qos-demo-3-ctr, image: {web}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: qos-demo-4, namespace: qos-example}}
spec:
  containers:
  - name: qos-demo-4-ctr-1
    image: {web}
    resources: {{requests: {{memory: 200Mi}}}}
  - {{name: qos-demo-4-ctr-2, image: {busybox}, command: [sleep, "3600"]}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: mem-example}}
---
apiVersion: v1
kind: Pod
metadata: {{name: memory-demo-2, namespace: mem-example}}
spec:
  containers:
  - name: memory-demo-2-ctr
    image: {busybox}
    resources: {{requests: {{memory: 50Mi}}, limits: {{memory: 100Mi}}}}
    command: [dd]
    args: [if=/dev/zero, of=/dev/null, bs=250M, count=1]
---
apiVersion: v1
kind: Pod
metadata: {{name: memory-demo-3, namespace: mem-example}}
spec:
  containers:
  - name: memory-demo-3-ctr
    image: {busybox}
    resources: {{requests: {{memory: 1000Gi}}, limits: {{memory: 1000Gi}}}}
    command: [sleep, "3600"]
---
apiVersion: v1
kind: Namespace
metadata: {{name: cpu-example}}
---
apiVersion: v1
kind: Pod
metadata: {{name: cpu-demo-2, namespace: cpu-example}}
spec:
  containers:
  - name: cpu-demo-ctr-2
    image: {busybox}
    resources: {{limits: {{cpu: "100"}}, requests: {{cpu: "100"}}}}
    command: [sleep, "3600"]
---
apiVersion: v1
kind: Pod
metadata: {{labels: {{test: liveness}}, name: liveness-exec}}
spec:
  containers:
  - name: liveness
    image: {busybox}
    args: [/bin/sh, -c, "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600"]
    livenessProbe:
      exec: {{command: [cat, /tmp/healthy]}}
      initialDelaySeconds: 5
      periodSeconds: 5
---
apiVersion: v1
kind: Pod
metadata: {{labels: {{test: liveness}}, name: liveness-http}}
spec:
  containers:
  - name: liveness
    image: {busybox}
    command: [sh, -c, {server}]
    livenessProbe:
      httpGet:
        path: /healthz
        port: 8080
        httpHeaders: [{{name: Custom-Header, value: Awesome}}]
      initialDelaySeconds: 3
      periodSeconds: 3
---
apiVersion: v1
kind: Pod
metadata: {{name: goproxy, labels: {{app.kubernetes.io/name: goproxy}}}}
spec:
  containers:
  - name: goproxy
    image: {web}
    ports: [{{containerPort: 8080}}]
    readinessProbe:
      tcpSocket: {{port: 8080}}
      initialDelaySeconds: 15
      periodSeconds: 10
    livenessProbe:
      tcpSocket: {{port: 8080}}
      initialDelaySeconds: 15
      periodSeconds: 10
"""


@pytest.fixture(scope="module")
def lab(docs_lab: Lab) -> Lab:
    """The package's lab, with this module's examples applied."""
    apply(docs_lab, manifests(docs_lab.images.ref("busybox"), docs_lab.images.ref("web")))
    return docs_lab


def node_name(lab: Lab) -> str:
    return lab.topology.nodes[0].name


def test_qos_classes(lab: Lab) -> None:
    """pods/qos/qos-pod.yaml@5712187, -2@5712187, -3@81dca134, -4@7a090ad7, page
    configure-pod-container/quality-service-pod: equal requests and limits are Guaranteed,
    a memory request below its limit is Burstable, no resources BestEffort, one container
    with a request beside one without Burstable."""
    expected = {"qos-demo": "Guaranteed", "qos-demo-2": "Burstable",
                "qos-demo-3": "BestEffort", "qos-demo-4": "Burstable"}
    for name, qos in expected.items():
        ready(lab, name, "qos-example")
        assert pod(lab, name, "qos-example")["status"]["qosClass"] == qos, name


def test_a_container_over_its_memory_limit_is_oom_killed(lab: Lab) -> None:
    """pods/resource/memory-request-limit-2.yaml@5712187 (`stress --vm-bytes 250M` as busybox
    `dd bs=250M`), page assign-memory-resource: the container over its 100Mi limit is
    terminated with reason OOMKilled, and restarted."""
    def oom_killed() -> bool:
        statuses = pod(lab, "memory-demo-2", "mem-example")["status"].get(
            "containerStatuses") or [{}]
        last = (statuses[0].get("lastState") or {}).get("terminated") or {}
        return bool(last.get("reason") == "OOMKilled" and statuses[0].get("restartCount", 0) >= 1)
    eventually(oom_killed, timeout=90)


def test_requests_larger_than_the_node_stay_pending(lab: Lab) -> None:
    """pods/resource/memory-request-limit-3.yaml@81dca134 and cpu-request-limit-2.yaml@
    81dca134, pages assign-memory-resource and assign-cpu-resource: the pods stay Pending
    with FailedScheduling events naming Insufficient memory / Insufficient cpu."""
    for name, namespace, resource in (("memory-demo-3", "mem-example", "memory"),
                                      ("cpu-demo-2", "cpu-example", "cpu")):
        message = scheduling_failure(lab, name, namespace)
        assert f"0/1 nodes are available: 1 Insufficient {resource}." in message
        assert pod(lab, name, namespace)["status"]["phase"] == "Pending"


def restarts(lab: Lab, name: str) -> int:
    statuses = pod(lab, name)["status"].get("containerStatuses") or [{}]
    return int(statuses[0].get("restartCount", 0))


def test_exec_liveness_probe(lab: Lab) -> None:
    """pods/probe/exec-liveness.yaml@7a090ad7, page configure-liveness-readiness-startup-
    probes: after /tmp/healthy is removed the probe fails (`cat: can't open '/tmp/healthy':
    No such file or directory`), the kubelet kills the container and restarts it."""
    eventually(lambda: restarts(lab, "liveness-exec") >= 1, timeout=120)
    unhealthy = events(lab, "liveness-exec", "Unhealthy")
    assert any(m.startswith("Liveness probe failed: cat: can't open '/tmp/healthy': No such "
                            "file or directory") for m in unhealthy), unhealthy
    assert "Container liveness failed liveness probe, will be restarted" in events(
        lab, "liveness-exec", "Killing")


def test_http_liveness_probe(lab: Lab) -> None:
    """pods/probe/http-liveness.yaml@7a090ad7 (agnhost's `liveness` server as busybox nc),
    same page: after 10 s /healthz answers 500, the probe fails with `HTTP probe failed with
    statuscode: 500` and the container is restarted."""
    eventually(lambda: restarts(lab, "liveness-http") >= 1, timeout=90)
    assert "Liveness probe failed: HTTP probe failed with statuscode: 500" in events(
        lab, "liveness-http", "Unhealthy")


def test_tcp_readiness_and_liveness_probes(lab: Lab) -> None:
    """pods/probe/tcp-liveness-readiness.yaml@3389c10e, same page: once the port accepts
    connections (after the 15 s initial delay) the pod is Ready, and never restarted."""
    ready(lab, "goproxy", timeout=90)
    assert restarts(lab, "goproxy") == 0


def test_taints_and_tolerations(lab: Lab) -> None:
    """pods/pod-with-toleration.yaml@81dca134, page concepts/scheduling-eviction/taint-and-
    toleration: on a node tainted example-key:NoSchedule the pod that tolerates it runs and
    one that does not stays Pending (an untolerated taint) until the taint is removed."""
    node, web = node_name(lab), lab.images.ref("web")
    kubectl(lab, "taint", "nodes", node, "example-key=value1:NoSchedule")
    try:
        apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: nginx-toleration, labels: {{env: test}}}}
spec:
  containers:
  - {{name: nginx, image: {web}, imagePullPolicy: IfNotPresent}}
  tolerations:
  - {{key: example-key, operator: Exists, effect: NoSchedule}}
---
apiVersion: v1
kind: Pod
metadata: {{name: nginx-intolerant}}
spec:
  containers:
  - {{name: nginx, image: {web}, imagePullPolicy: IfNotPresent}}
""")
        ready(lab, "nginx-toleration")
        message = scheduling_failure(lab, "nginx-intolerant")
        assert "1 node(s) had untolerated taint {example-key: value1}" in message
    finally:
        kubectl(lab, "taint", "nodes", node, "example-key=value1:NoSchedule-")
    ready(lab, "nginx-intolerant")


def test_node_selector_and_node_affinity(lab: Lab) -> None:
    """pods/pod-nginx.yaml@81dca134, pod-nginx-required-affinity.yaml@5712187 and
    pod-nginx-preferred-affinity.yaml@6ef03d7b, pages assign-pods-nodes and assign-pods-nodes-
    using-node-affinity: until the node is labelled disktype=ssd the nodeSelector and required
    affinity pods stay Pending, then they run on it; the preferred one runs anyway."""
    node, web = node_name(lab), lab.images.ref("web")

    def nginx(name: str, placement: str) -> str:
        return f"""
---
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{env: test}}}}
spec:
  {placement}
  containers:
  - {{name: nginx, image: {web}, imagePullPolicy: IfNotPresent}}
"""
    term = "{matchExpressions: [{key: disktype, operator: In, values: [ssd]}]}"
    apply(lab, nginx("nginx-selector", "nodeSelector: {disktype: ssd}")
          + nginx("nginx-required", "affinity: {nodeAffinity: {requiredDuringScheduling"
                  f"IgnoredDuringExecution: {{nodeSelectorTerms: [{term}]}}}}}}")
          + nginx("nginx-preferred", "affinity: {nodeAffinity: {preferredDuringScheduling"
                  f"IgnoredDuringExecution: [{{weight: 1, preference: {term}}}]}}}}"))
    ready(lab, "nginx-preferred")
    for name in ("nginx-selector", "nginx-required"):
        message = scheduling_failure(lab, name)
        assert "1 node(s) didn't match Pod's node affinity/selector" in message
    kubectl(lab, "label", "nodes", node, "disktype=ssd")
    try:
        for name in ("nginx-selector", "nginx-required"):
            ready(lab, name)
            assert pod(lab, name)["spec"]["nodeName"] == node
    finally:
        kubectl(lab, "label", "nodes", node, "disktype-")


def test_extended_resources(lab: Lab) -> None:
    """pods/resource/extended-resource-pod.yaml@5712187 and -pod-2.yaml@5712187, pages
    administer-cluster/extended-resource-node and configure-pod-container/extended-resource:
    after a PATCH adds example.com/dongle: 4 to the node's capacity, a pod asking 3 runs and
    one asking 2 more stays Pending with Insufficient example.com/dongle."""
    node, web = node_name(lab), lab.images.ref("web")
    kubectl(lab, "patch", "node", node, "--subresource=status", "--type=json", "-p",
            '[{"op": "add", "path": "/status/capacity/example.com~1dongle", "value": "4"}]')
    try:
        def dongles() -> str:
            status = kubectl(lab, "get", "node", node, "-o", "json")
            allocatable = json.loads(status)["status"].get("allocatable") or {}
            return str(allocatable.get("example.com/dongle", ""))
        eventually(lambda: dongles() == "4", timeout=60)
        apply(lab, "".join(f"""
---
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  containers:
  - name: {name}-ctr
    image: {web}
    resources:
      requests: {{example.com/dongle: {count}}}
      limits: {{example.com/dongle: {count}}}
""" for name, count in (("extended-resource-demo", 3), ("extended-resource-demo-2", 2))))
        ready(lab, "extended-resource-demo")
        message = scheduling_failure(lab, "extended-resource-demo-2")
        assert "1 Insufficient example.com/dongle" in message
    finally:
        kubectl(lab, "patch", "node", node, "--subresource=status", "--type=json", "-p",
                '[{"op": "remove", "path": "/status/capacity/example.com~1dongle"}]',
                check=False)


def test_scheduling_gates_are_refused(lab: Lab) -> None:
    """pods/pod-with-scheduling-gates.yaml@7a090ad7, page pod-scheduling-readiness: nodelab
    has no scheduling gates (docs/pod-fields.md), so the API server refuses the pod with a
    422 naming spec.schedulingGates."""
    error = refused(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: test-pod}}
spec:
  schedulingGates: [{{name: example.com/foo}}, {{name: example.com/bar}}]
  containers:
  - {{name: pause, image: {lab.images.ref("pause")}}}
""")
    assert 'The Pod "test-pod" is invalid' in error and "spec.schedulingGates" in error
    assert "not supported by nodelab" in error


def test_pod_level_resources_are_refused(lab: Lab) -> None:
    """pods/resource/pod-level-resources.yaml@2e93b643, page assign-pod-level-resources:
    nodelab has no pod-level resources (docs/pod-fields.md), so the API server refuses the
    pod with a 422 naming spec.resources."""
    busybox = lab.images.ref("busybox")
    error = refused(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: pod-resources-demo}}
spec:
  resources:
    limits: {{cpu: "1", memory: 200Mi}}
    requests: {{cpu: "1", memory: 100Mi}}
  containers:
  - name: pod-resources-demo-ctr-1
    image: {lab.images.ref("web")}
    resources:
      limits: {{cpu: "0.5", memory: 100Mi}}
      requests: {{cpu: "0.5", memory: 50Mi}}
  - {{name: pod-resources-demo-ctr-2, image: {busybox}, command: [sleep, inf]}}
""")
    assert 'The Pod "pod-resources-demo" is invalid' in error
    assert "spec.resources: Forbidden: not supported by nodelab" in error
