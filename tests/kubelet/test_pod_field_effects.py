"""More pod fields on a real lab, each checked where its effect shows (docs/pod-fields.md):
the kubelet-managed /etc/hosts (hostAliases), readiness gates, hostPath types on the node,
image pull secrets against a registry that requires them, emptyDir size limits.

One one-node lab serves the module (as tests/kubelet/test_pod_fields.py); manifests go through
real kubectl, and the effect is read in the container, on the node, or in the Pod's status.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from nodelab.lab.cri_harness.registry import local_registry, push_busybox, write_htpasswd
from nodelab.lab.lab import Lab
from tests.conftest import one_node_lab
from tests.kubelet.test_pod_fields import RUNTIME, apply, finished
from tests.lab.kube import eventually, in_node, kubectl, kubectl_json

pytestmark = [pytest.mark.slow, pytest.mark.privileged]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with one_node_lab(runtime=RUNTIME) as lab:
        yield lab


# --- hostAliases: the kubelet's /etc/hosts ---------------------------------------------------


def test_host_aliases_and_the_managed_hosts_file(lab: Lab) -> None:
    """The docs' hostaliases-pod.yaml, with a subdomain: the file is upstream's byte for
    byte, and the aliases resolve in the pod; a hostNetwork pod gets the node's file."""
    image = lab.images.ref("busybox")
    apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: hostaliases-pod}}
spec:
  restartPolicy: Never
  hostname: web
  subdomain: front
  hostAliases:
  - ip: "127.0.0.1"
    hostnames: ["foo.local", "bar.local"]
  - ip: "10.1.2.3"
    hostnames: ["foo.remote", "bar.remote"]
  containers:
  - name: cat-hosts
    image: {image}
    command: [sh, -c, "cat /etc/hosts; ping -c 1 -W 1 foo.local | head -1"]
---
apiVersion: v1
kind: Pod
metadata: {{name: hostaliases-hostnet}}
spec:
  restartPolicy: Never
  hostNetwork: true
  hostAliases:
  - {{ip: "10.1.2.3", hostnames: [foo.remote]}}
  containers:
  - {{name: cat-hosts, image: {image}, command: [cat, /etc/hosts]}}
""")
    out = finished(lab, "hostaliases-pod")
    pod_ip = kubectl_json(lab, "get", "pod", "hostaliases-pod")["status"]["podIP"]
    hosts = out[:out.index("PING")]
    assert hosts == (
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
        "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
        f"{pod_ip}\tweb.front.default.svc.cluster.local\tweb\n\n"
        "# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\n"
        "10.1.2.3\tfoo.remote\tbar.remote\n")
    assert out[out.index("PING"):].startswith("PING foo.local (127.0.0.1)")
    node_hosts = in_node(lab, "cat", "/etc/hosts").stdout
    hostnet = finished(lab, "hostaliases-hostnet")
    assert hostnet == ("# Kubernetes-managed hosts file (host network).\n" + node_hosts
                       + "\n# Entries added by HostAliases.\n10.1.2.3\tfoo.remote\n")
    status = kubectl_json(lab, "get", "pod", "hostaliases-hostnet")["status"]
    assert status["podIP"] == status["hostIP"]  # a hostNetwork pod's IP is the node's



# --- readinessGates --------------------------------------------------------------------------


def ready_condition(lab: Lab, pod: str) -> dict[str, str]:
    conditions = kubectl_json(lab, "get", "pod", pod)["status"].get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), {})


def endpoints_ready(lab: Lab, service: str) -> list[bool]:
    slices = kubectl_json(lab, "get", "endpointslices", "-l",
                          f"kubernetes.io/service-name={service}")["items"]
    return [bool((e.get("conditions") or {}).get("ready"))
            for s in slices for e in s.get("endpoints") or []]


def test_readiness_gates_hold_ready_until_their_conditions_are_true(lab: Lab) -> None:
    """The docs' readiness gate: the containers are ready, the pod is not until another
    component sets the gate's condition (`kubectl patch --subresource=status`); the gate
    counts in `kubectl get -o wide` and the EndpointSlice follows Ready."""
    gate = "www.example.com/feature-1"
    apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: gated, labels: {{app: gated}}}}
spec:
  readinessGates: [{{conditionType: "{gate}"}}]
  containers:
  - {{name: c, image: {lab.images.ref("busybox")}, command: [sleep, "3600"]}}
---
apiVersion: v1
kind: Service
metadata: {{name: gated}}
spec:
  selector: {{app: gated}}
  ports: [{{port: 80}}]
""")
    eventually(lambda: ready_condition(lab, "gated").get("reason") == "ReadinessGatesNotReady",
               timeout=90)
    status = kubectl_json(lab, "get", "pod", "gated")["status"]
    assert status["containerStatuses"][0]["ready"] is True
    assert ready_condition(lab, "gated")["message"] == (
        f'corresponding condition of pod readiness gate "{gate}" does not exist.')
    assert kubectl(lab, "get", "pod", "gated", "-o", "wide").split()[-1] == "0/1"
    eventually(lambda: endpoints_ready(lab, "gated") == [False], timeout=30)
    kubectl(lab, "patch", "pod", "gated", "--subresource=status", "-p", json.dumps(
        {"status": {"conditions": [{"type": gate, "status": "False"}]}}))
    eventually(lambda: "but False" in ready_condition(lab, "gated").get("message", ""),
               timeout=30)
    kubectl(lab, "patch", "pod", "gated", "--subresource=status", "-p", json.dumps(
        {"status": {"conditions": [{"type": gate, "status": "True"}]}}))
    eventually(lambda: ready_condition(lab, "gated").get("status") == "True", timeout=30)
    assert kubectl(lab, "get", "pod", "gated", "-o", "wide").split()[-1] == "1/1"

    eventually(lambda: endpoints_ready(lab, "gated") == [True], timeout=30)
    kubectl(lab, "delete", "pod", "gated", "--grace-period=0", "--wait=false")


# --- hostPath types --------------------------------------------------------------------------


def events_of(lab: Lab, pod: str, reason: str) -> list[str]:
    events = kubectl_json(lab, "get", "events", "--field-selector",
                          f"involvedObject.name={pod},reason={reason}")["items"]
    return [e["message"] for e in events]


def test_host_path_types_are_checked_and_writes_reach_the_node(lab: Lab) -> None:
    """DirectoryOrCreate and FileOrCreate make the path (0755 / 0644) and the container's
    writes land on the node; a path of the wrong kind holds the pod in ContainerCreating
    with upstream's FailedMount event until it is right."""
    root = lab.paths.root / "hostpath-types"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    (root / "not-a-dir").write_text("x")
    image = lab.images.ref("busybox")
    apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: hp-create}}
spec:
  restartPolicy: Never
  volumes:
  - {{name: d, hostPath: {{path: {root}/made/deeper, type: DirectoryOrCreate}}}}
  - {{name: f, hostPath: {{path: {root}/made-file, type: FileOrCreate}}}}
  containers:
  - name: c
    image: {image}
    command: [sh, -c, "echo from-the-pod > /d/written; echo line > /f"]
    volumeMounts: [{{name: d, mountPath: /d}}, {{name: f, mountPath: /f}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: hp-wrong}}
spec:
  restartPolicy: Never
  volumes:
  - {{name: data, hostPath: {{path: {root}/not-a-dir, type: Directory}}}}
  containers:
  - {{name: c, image: {image}, command: [ls, /data], volumeMounts: [{{name: data,
      mountPath: /data}}]}}
""")
    finished(lab, "hp-create")
    assert (root / "made" / "deeper" / "written").read_text() == "from-the-pod\n"
    assert (root / "made" / "deeper").stat().st_mode & 0o777 == 0o755
    assert (root / "made-file").read_text() == "line\n"
    message = eventually(lambda: events_of(lab, "hp-wrong", "FailedMount"), timeout=60)[0]
    assert message == (f'MountVolume.SetUp failed for volume "data" : hostPath type check '
                       f"failed: {root}/not-a-dir is not a directory")
    status = kubectl_json(lab, "get", "pod", "hp-wrong")["status"]
    assert status["containerStatuses"][0]["state"]["waiting"]["reason"] == "ContainerCreating"
    (root / "not-a-dir").unlink()
    (root / "not-a-dir").mkdir()
    (root / "not-a-dir" / "now-a-dir").write_text("")
    assert finished(lab, "hp-wrong") == "now-a-dir\n"
    shutil.rmtree(root)


# --- imagePullSecrets ------------------------------------------------------------------------


def waiting_reason(lab: Lab, pod: str) -> str:
    statuses = kubectl_json(lab, "get", "pod", pod)["status"].get("containerStatuses") or [{}]
    return str(((statuses[0].get("state") or {}).get("waiting") or {}).get("reason", ""))


def test_image_pull_secrets_reach_a_registry_that_wants_them(lab: Lab, tmp_path: Path) -> None:
    """A second docker-registry on the lab gateway with htpasswd auth holds a private image:
    without credentials the pull is refused (401), with the pod's dockerconfigjson secret, or
    the one its service account lists, the kubelet's AuthConfig gets it through."""
    if RUNTIME != "nodelab":
        pytest.skip("the containerd lab's config lists only the lab registry as an http mirror")
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed")
    htpasswd = write_htpasswd(tmp_path / "htpasswd", "pupil", "s3cret")
    with local_registry(tmp_path / "reg", htpasswd, host=str(lab.topology.gateway)) as reg:
        push_busybox(dataclasses.replace(reg, username="pupil", password="s3cret"), "private",
                     "1.0")
        image = reg.ref("private:1.0")
        config = json.dumps({"auths": {reg.address: {
            "auth": base64.b64encode(b"pupil:s3cret").decode()}}})

        def pod(name: str, extra: str = "") -> str:
            return f"""
---
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  restartPolicy: Never{extra}
  containers:
  - {{name: c, image: "{image}", imagePullPolicy: Always, command: [echo, pulled]}}
"""

        apply(lab, f"""
apiVersion: v1
kind: Secret
metadata: {{name: regcred}}
type: kubernetes.io/dockerconfigjson
data: {{.dockerconfigjson: {base64.b64encode(config.encode()).decode()}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: puller}}
imagePullSecrets: [{{name: regcred}}]
""" + pod("anonymous") + pod("with-secret", "\n  imagePullSecrets: [{name: regcred}]")
              + pod("via-account", "\n  serviceAccountName: puller")
              + pod("missing-secret", "\n  imagePullSecrets: [{name: gone}]"))
        assert finished(lab, "with-secret") == "pulled\n"
        assert finished(lab, "via-account") == "pulled\n"
        spec = kubectl_json(lab, "get", "pod", "via-account")["spec"]
        assert spec["imagePullSecrets"] == [{"name": "regcred"}]  # the ServiceAccount plugin
        eventually(lambda: waiting_reason(lab, "anonymous") in ("ErrImagePull",
                                                                 "ImagePullBackOff"), timeout=60)
        failed = events_of(lab, "anonymous", "Failed")
        assert any("401" in m or "nauthorized" in m for m in failed), failed
        assert eventually(lambda: events_of(lab, "missing-secret",
                                            "FailedToRetrieveImagePullSecret"), timeout=60)[0] \
            == ("Unable to retrieve some image pull secrets (gone); attempting to pull the image "
                "may not succeed.")
        kubectl(lab, "delete", "pod", "anonymous", "missing-secret", "--grace-period=0",
                "--wait=false")


# --- emptyDir sizeLimit ----------------------------------------------------------------------


def test_empty_dir_size_limits(lab: Lab) -> None:
    """A disk-backed emptyDir written past its sizeLimit gets the pod evicted with upstream's
    status and event; a `medium: Memory` one is a tmpfs of that size (a write past it fails)."""
    image = lab.images.ref("busybox")
    apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: scratch-hog}}
spec:
  volumes: [{{name: scratch, emptyDir: {{sizeLimit: 1Mi}}}}]
  containers:
  - name: c
    image: {image}
    command: [sh, -c, "dd if=/dev/zero of=/scratch/fill bs=1048576 count=4; sleep 3600"]
    volumeMounts: [{{name: scratch, mountPath: /scratch}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: memory-scratch}}
spec:
  restartPolicy: Never
  volumes: [{{name: mem, emptyDir: {{medium: Memory, sizeLimit: 2Mi}}}}]
  containers:
  - name: c
    image: {image}
    command: [sh, -c, "df -k /mem | tail -1; dd if=/dev/zero of=/mem/fill bs=1048576 count=4
      2>&1 | grep -o 'No space left on device' | head -1"]
    volumeMounts: [{{name: mem, mountPath: /mem}}]
""")
    message = 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi". '
    status = eventually(lambda: (s := kubectl_json(lab, "get", "pod", "scratch-hog")["status"])
                        .get("reason") == "Evicted" and s, timeout=90)
    assert (status["phase"], status["message"]) == ("Failed", message)
    # the eviction manager records the event after it posts the status
    assert eventually(lambda: events_of(lab, "scratch-hog", "Evicted"), timeout=30) == [message]
    df, full = finished(lab, "memory-scratch").splitlines()
    assert df.split()[0] == "tmpfs" and df.split()[1] == "2048"
    assert full == "No space left on device"


def test_ephemeral_storage_limits(lab: Lab) -> None:
    """`limits.ephemeral-storage` is enforced as upstream's local storage eviction: a container
    writing 4 MiB into its root filesystem past a 2Mi limit gets its pod evicted (one
    container: the pod's total limit is checked first, upstream's order); beside a roomier
    sibling, the container's own limit evicts it; a pod within its limit keeps running."""
    image = lab.images.ref("busybox")
    fill = "dd if=/dev/zero of=/fill bs=1048576 count={} && echo written; sleep 3600"

    def hog(name: str, mib: int, limit: str) -> str:
        return f"""  - name: {name}
    image: {image}
    command: [sh, -c, "{fill.format(mib)}"]
    resources: {{limits: {{ephemeral-storage: {limit}}}}}
"""

    apply(lab, "apiVersion: v1\nkind: Pod\nmetadata: {name: within}\nspec:\n  containers:\n"
          + hog("c", 1, "8Mi"))
    # written before the hogs exist: every pass that evicts them has measured it too
    eventually(lambda: "written" in kubectl(lab, "logs", "within", check=False), timeout=90)
    apply(lab, "apiVersion: v1\nkind: Pod\nmetadata: {name: pod-hog}\nspec:\n"
          "  containers:\n" + hog("c", 4, "2Mi") + "---\n"
          "apiVersion: v1\nkind: Pod\nmetadata: {name: container-hog}\nspec:\n"
          "  containers:\n" + hog("c", 4, "2Mi") + hog("roomy", 0, "8Mi"))
    expected = {
        "pod-hog": "Pod ephemeral local storage usage exceeds the total limit of containers "
                   "2Mi. ",
        "container-hog": 'Container c exceeded its local ephemeral storage limit "2Mi". ',
    }
    def evicted(name: str) -> Any:
        status = kubectl_json(lab, "get", "pod", name)["status"]
        return status.get("reason") == "Evicted" and status

    for name, message in expected.items():
        status = eventually(partial(evicted, name), timeout=90)
        assert (status["phase"], status["message"]) == ("Failed", message)
        # recorded after the status is posted
        assert eventually(partial(events_of, lab, name, "Evicted"), timeout=30) == [message]
    status = kubectl_json(lab, "get", "pod", "within")["status"]
    assert (status["phase"], status.get("reason")) == ("Running", None)
    kubectl(lab, "delete", "pod", "within", "pod-hog", "container-hog", "--wait=false")


# --- priorityClassName and preemption --------------------------------------------------------


def test_a_higher_priority_pod_preempts_a_lower_one(lab: Lab) -> None:
    """The docs' PriorityClass walk-through on a one-node lab: a low-priority pod holds most of
    the node's CPU; a pod of a higher class that does not fit preempts it (DisruptionTarget,
    a Preempted event, deletion), is nominated to the node and runs there."""
    allocatable = kubectl_json(lab, "get", "node", lab.topology.nodes[0].name)["status"][
        "allocatable"]["cpu"]
    cpu = int(allocatable) * 1000 if allocatable.isdigit() else int(allocatable.rstrip("m"))
    image = lab.images.ref("busybox")
    apply(lab, f"""
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {{name: high-priority}}
value: 1000000
description: "for the preemption test"
---
apiVersion: v1
kind: Pod
metadata: {{name: low}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {{name: c, image: {image}, command: [sleep, "3600"],
      resources: {{requests: {{cpu: {cpu * 3 // 4}m}}}}}}
""")
    eventually(lambda: kubectl_json(lab, "get", "pod", "low")["spec"].get("nodeName"),
               timeout=60)
    apply(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: high}}
spec:
  priorityClassName: high-priority
  containers:
  - {{name: c, image: {image}, command: [sleep, "3600"],
      resources: {{requests: {{cpu: {cpu // 2}m}}}}}}
""")
    high = eventually(lambda: (p := kubectl_json(lab, "get", "pod", "high"))["status"].get(
        "nominatedNodeName") and p, timeout=60)
    assert high["spec"]["priority"] == 1000000
    assert high["status"]["nominatedNodeName"] == lab.topology.nodes[0].name
    preempted = events_of(lab, "low", "Preempted")
    assert preempted == [f"Preempted by pod {high['metadata']['uid']} on node "
                         f"{lab.topology.nodes[0].name}"]
    eventually(lambda: kubectl(lab, "get", "pod", "low", "--ignore-not-found") == "",
               timeout=60)
    eventually(lambda: kubectl_json(lab, "get", "pod", "high")["status"].get("phase")
               == "Running", timeout=60)
    kubectl(lab, "delete", "pod", "high", "--grace-period=0", "--wait=false")
