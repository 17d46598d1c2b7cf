"""The docs' task "Configure a Pod to Use a PersistentVolume for Storage" on a real lab,
through real kubectl: the node's file (written under the lab's state directory, the docs'
/mnt/data) reaches the pod through a hostPath PersistentVolume bound to the claim, the pod's
writes reach the node, `readOnly` and `subPath` hold, and deleting the claim releases the
volume. The nginx of the docs is the lab's busybox reading the same path."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from nodelab.lab.lab import Lab
from tests.conftest import needs_root
from tests.controlplane.test_storage_api import DOCS_PV, DOCS_PVC
from tests.lab.kube import eventually, kubectl, kubectl_json

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]

# What this module makes in `default` of the session's lab, in deletion order (pods before
# the claims they hold, claims before their volumes).
MADE = (("pod", ("task-pv-pod", "task-pv-reader", "placed")),
        ("pvc", ("task-pv-claim", "later")),
        ("pv", ("task-pv-volume", "later")))


@pytest.fixture(scope="module", autouse=True)
def _cleaned_up(cluster: Lab) -> Iterator[None]:
    """Delete what the module made, however its tests end, and wait until it is gone: a
    leftover class-less volume could be bound by a later module's claim."""
    yield
    for kind, names in MADE:
        kubectl(cluster, "delete", kind, *names, "--ignore-not-found", "--grace-period=1",
                "--timeout=100s")

        def gone(kind: str = kind, names: tuple[str, ...] = names) -> bool:
            return kubectl(cluster, "get", kind, *names, "--ignore-not-found", "-o",
                           "name") == ""
        eventually(gone, timeout=100)


def phase(lab: Lab, kind: str, name: str) -> str:
    return str(kubectl_json(lab, "get", kind, name).get("status", {}).get("phase"))


def running(lab: Lab, name: str) -> bool:
    return phase(lab, "pod", name) == "Running"


def test_the_docs_task_a_pod_reads_what_the_node_wrote(cluster: Lab) -> None:
    data = cluster.paths.root / "mnt-data"  # the docs' /mnt/data, inside the lab
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir()
    (data / "index.html").write_text("Hello from Kubernetes storage\n")
    image = cluster.images.ref("busybox")
    # the docs' manifests as published, the volume's path inside the lab
    docs_pv = DOCS_PV.replace('path: "/mnt/data"', f'path: "{data}"')
    assert docs_pv != DOCS_PV
    kubectl(cluster, "apply", "-f", "-", input=f"{docs_pv}---\n{DOCS_PVC}")
    eventually(lambda: phase(cluster, "pvc", "task-pv-claim") == "Bound", timeout=30)
    row = kubectl(cluster, "get", "pv", "task-pv-volume").splitlines()[1].split()
    assert row[:7] == ["task-pv-volume", "10Gi", "RWO", "Retain", "Bound",
                       "default/task-pv-claim", "manual"]
    kubectl(cluster, "apply", "-f", "-", input=f"""
apiVersion: v1
kind: Pod
metadata:
  name: task-pv-pod
spec:
  volumes:
    - name: task-pv-storage
      persistentVolumeClaim:
        claimName: task-pv-claim
  containers:
    - name: task-pv-container
      image: {image}
      command: [sleep, "3600"]
      volumeMounts:
        - mountPath: "/usr/share/nginx/html"
          name: task-pv-storage
---
apiVersion: v1
kind: Pod
metadata:
  name: task-pv-reader
spec:
  volumes:
    - name: shared
      persistentVolumeClaim:
        claimName: task-pv-claim
        readOnly: true
  containers:
    - name: c
      image: {image}
      command: [sleep, "3600"]
      volumeMounts:
        - {{mountPath: /data, name: shared}}
        - {{mountPath: /page, name: shared, subPath: index.html}}
""")
    eventually(lambda: running(cluster, "task-pv-pod") and running(cluster, "task-pv-reader"))
    page = kubectl(cluster, "exec", "task-pv-pod", "--", "cat",
                   "/usr/share/nginx/html/index.html")
    assert page == "Hello from Kubernetes storage\n"
    kubectl(cluster, "exec", "task-pv-pod", "--", "sh", "-c",
            "echo from-the-pod > /usr/share/nginx/html/written")
    assert (data / "written").read_text() == "from-the-pod\n"
    assert kubectl(cluster, "exec", "task-pv-reader", "--", "cat", "/page") == \
        "Hello from Kubernetes storage\n"
    refused = kubectl(cluster, "exec", "task-pv-reader", "--", "sh", "-c",
                      "touch /data/x 2>&1; echo rc=$?", check=False)
    assert "Read-only file system" in refused and "rc=1" in refused
    assert not (data / "x").exists()

    kubectl(cluster, "delete", "pod", "task-pv-pod", "task-pv-reader", "--grace-period=1")
    kubectl(cluster, "delete", "pvc", "task-pv-claim")
    eventually(lambda: phase(cluster, "pv", "task-pv-volume") == "Released", timeout=30)
    kubectl(cluster, "delete", "pv", "task-pv-volume")
    assert (data / "written").read_text() == "from-the-pod\n"  # Retain: the data stays


def test_a_pod_on_a_claim_that_is_not_bound_waits(cluster: Lab) -> None:
    """A pod placed on the node directly (no scheduler) with a Pending claim: the kubelet's
    FailedMount text, and the pod runs once the claim binds."""
    image = cluster.images.ref("busybox")
    node = kubectl_json(cluster, "get", "nodes")["items"][0]["metadata"]["name"]
    kubectl(cluster, "apply", "-f", "-", input=f"""
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: later}}
spec:
  storageClassName: ""
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 1Gi}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: placed}}
spec:
  nodeName: {node}
  volumes: [{{name: d, persistentVolumeClaim: {{claimName: later}}}}]
  containers: [{{name: c, image: {image}, command: [sleep, "3600"],
                volumeMounts: [{{name: d, mountPath: /d}}]}}]
""")

    def failed_mount() -> str:
        listed = kubectl_json(cluster, "get", "events", "--field-selector",
                              "involvedObject.name=placed,reason=FailedMount")["items"]
        return str(listed[0]["message"]) if listed else ""
    assert eventually(failed_mount, timeout=30) == (
        "Unable to attach or mount volumes: unmounted volumes=[d], unattached volumes=[], "
        "failed to process volumes=[d]: error processing PVC default/later: PVC is not bound")
    target = cluster.paths.root / "later-data"
    target.mkdir(exist_ok=True)
    kubectl(cluster, "apply", "-f", "-", input=f"""
apiVersion: v1
kind: PersistentVolume
metadata: {{name: later}}
spec:
  capacity: {{storage: 1Gi}}
  accessModes: [ReadWriteOnce]
  hostPath: {{path: "{target}", type: Directory}}
""")
    eventually(lambda: running(cluster, "placed"), timeout=60)
    kubectl(cluster, "delete", "pod", "placed", "--grace-period=1")
    kubectl(cluster, "delete", "pvc", "later")
    kubectl(cluster, "delete", "pv", "later")
