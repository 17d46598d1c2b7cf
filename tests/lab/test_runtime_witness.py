"""The reference runtime as the witness (issue #18's Tests): the same pod manifests on a lab
whose nodes run containerd (`--runtime containerd`) and on the shared lab on nodelab's runtime
give the same in-container results, field by field. The kubelet is the part under test: it
turns the pod's fields into CRI requests, and two runtimes that both honour CRI must then show
the container the same user, groups, capabilities, no_new_privs, seccomp mode, read-only root,
environment, volume files and modes, and the same probe outcomes.

Each pod prints `key=value` lines (one per observation) and exits; the two labs' lines are
compared key by key, so a difference names the observation. One containerd lab serves the
module; the nodelab side is the suite's shared `cluster` lab (its own namespace, deleted after).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from nodelab.lab.lab import Lab
from tests.conftest import one_node_lab
from tests.lab.kube import eventually, kubectl, kubectl_json

pytestmark = [pytest.mark.slow, pytest.mark.privileged]

NAMESPACE = "witness"

# what each pod prints: the process's identity and limits as the kernel sees them, the root
# filesystem's writability, the environment the kubelet composed and the volumes' files
OBSERVE = r"""
echo "id=$(id)"
for f in Uid Gid Groups CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs Seccomp; do
  echo "$f=$(grep "^$f:" /proc/self/status | cut -f2- | tr '\t' ' ')"
done
echo "umask=$(umask)"
echo "hostname=$(hostname)"
echo "home=$HOME"
echo "path=$PATH"
if touch /.witness 2>/dev/null; then echo root=rw; else echo root=ro; fi
env | grep -v '^W_' | sed 's/^/env /' | sort
env | grep '^W_' | sort
echo "oom_score_adj=$(cat /proc/self/oom_score_adj)"
echo "kcore size=$(stat -c %s /proc/kcore 2>&1)"
while read -r _ at _ opts _; do
  case "$at" in
    /witness*|/etc/hosts|/etc/hostname|/etc/resolv.conf|/dev/shm|/dev/termination-log|\
    /proc/sys|/sys|/sys/fs/cgroup|/var/run/secrets/*) echo "mount $at=${opts%%,*}";;
  esac
done < /proc/self/mounts
echo "shm=$(grep ' /dev/shm ' /proc/self/mounts | grep -o 'size=[^,]*')"
echo "hosts=$(grep -v '^#' /etc/hosts | awk '{ $1 = ""; print }' | tr '\n' '|')"
echo "resolv=$(tr '\n' '|' < /etc/resolv.conf)"
for p in $(find -L /witness \( -type f -o -type d \) 2>/dev/null | grep -v '/\.\.' | sort); do
  echo "file $p=$(stat -L -c '%a %u %g' "$p")"
done
for f in $(find -L /witness -type f 2>/dev/null | grep -v '/\.\.' | sort); do
  echo "content $f=$(tr '\n' '|' < "$f")"
done
"""


def _indent(script: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in script.strip().splitlines())


# the `ipc` pod's observer first reads what its sibling wrote to the pod's /dev/shm
SHM_READER = r"""
for i in $(seq 20); do [ -f /dev/shm/from-writer ] && break; sleep 0.5; done
echo "shm shared=$(cat /dev/shm/from-writer 2>/dev/null || echo no)"
"""


def observer(image: str, first: str = "") -> str:
    """The container `c` that runs `first` (a few shell lines), prints the observations and
    exits: a YAML item of a pod's `containers`, to which the pod's own container fields follow
    at the same indentation."""
    script = _indent(f"{first.strip()}\n{OBSERVE.strip()}" if first else OBSERVE, 6)
    return f"""  - name: c
    image: {image}
    command: [sh, -c]
    args:
    - |
{script}"""


def manifests(image: str) -> str:
    return f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NAMESPACE}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {NAMESPACE}}}
data: {{mode: fast, level: "3", "1bad": skipped}}
---
apiVersion: v1
kind: Secret
metadata: {{name: creds, namespace: {NAMESPACE}}}
stringData: {{user: pupil, token: s3cret}}
---
apiVersion: v1
kind: Pod
metadata: {{name: env, namespace: {NAMESPACE}, labels: {{app: witness, tier: env}}}}
spec:
  restartPolicy: Never
  containers:
{observer(image, first="echo 'W_ARGS=$(W_MODE) $$(W_MODE)'")}
    env:
    - {{name: W_MODE, valueFrom: {{configMapKeyRef: {{name: settings, key: mode}}}}}}
    - {{name: W_USER, valueFrom: {{secretKeyRef: {{name: creds, key: user}}}}}}
    - {{name: W_MISSING, valueFrom: {{configMapKeyRef: {{name: settings, key: nope,
                                                         optional: true}}}}}}
    - {{name: W_POD, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}
    - {{name: W_NS, valueFrom: {{fieldRef: {{fieldPath: metadata.namespace}}}}}}
    - {{name: W_TIER, valueFrom: {{fieldRef: {{fieldPath: "metadata.labels['tier']"}}}}}}
    - {{name: W_NODE, valueFrom: {{fieldRef: {{fieldPath: spec.nodeName}}}}}}
    - {{name: W_SA, valueFrom: {{fieldRef: {{fieldPath: spec.serviceAccountName}}}}}}
    - name: W_CPU_M
      valueFrom: {{resourceFieldRef: {{resource: limits.cpu, divisor: 1m}}}}
    - name: W_MEM_MI
      valueFrom: {{resourceFieldRef: {{resource: limits.memory, divisor: 1Mi}}}}
    - {{name: W_EXPANDED, value: "$(W_MODE)-$(W_USER)-$$(W_MODE)-$(W_UNKNOWN)"}}
    envFrom:
    - {{prefix: W_CM_, configMapRef: {{name: settings}}}}
    - {{prefix: W_SEC_, secretRef: {{name: creds}}}}
    resources: {{limits: {{cpu: 250m, memory: 64Mi}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: restricted, namespace: {NAMESPACE}, labels: {{app: witness}},
           annotations: {{note: hello}}}}
spec:
  restartPolicy: Never
  securityContext:
    runAsUser: 1000
    runAsGroup: 3000
    fsGroup: 2000
    supplementalGroups: [4000]
    seccompProfile: {{type: RuntimeDefault}}
  containers:
{observer(image)}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {{drop: [ALL], add: [NET_BIND_SERVICE]}}
    resources: {{limits: {{cpu: 500m}}}}
    volumeMounts:
    - {{name: scratch, mountPath: /witness/scratch}}
    - {{name: cfg, mountPath: /witness/cfg}}
    - {{name: sec, mountPath: /witness/sec}}
    - {{name: info, mountPath: /witness/info}}
    - {{name: both, mountPath: /witness/both}}
  volumes:
  - {{name: scratch, emptyDir: {{}}}}
  - name: cfg
    configMap:
      name: settings
      defaultMode: 0444
      items: [{{key: mode, path: mode}}, {{key: level, path: deep/level, mode: 0640}}]
  - {{name: sec, secret: {{secretName: creds, defaultMode: 0400}}}}
  - name: info
    downwardAPI:
      items:
      - {{path: labels, fieldRef: {{fieldPath: metadata.labels}}}}
      - {{path: note, fieldRef: {{fieldPath: "metadata.annotations['note']"}}}}
      - path: cpu
        resourceFieldRef: {{containerName: c, resource: limits.cpu, divisor: 1m}}
  - name: both
    projected:
      defaultMode: 0440
      sources:
      - configMap: {{name: settings, items: [{{key: mode, path: mode}}]}}
      - secret: {{name: creds, items: [{{key: user, path: user, mode: 0600}}]}}
      - downwardAPI: {{items: [{{path: name, fieldRef: {{fieldPath: metadata.name}}}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: plain, namespace: {NAMESPACE}, labels: {{app: witness}}}}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  containers:
{observer(image)}
---
apiVersion: v1
kind: Pod
metadata: {{name: unconfined, namespace: {NAMESPACE}, labels: {{app: witness}}}}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: {{seccompProfile: {{type: Unconfined}}, runAsUser: 0}}
  containers:
{observer(image)}
    securityContext:
      capabilities: {{add: [NET_ADMIN, SYS_TIME], drop: [CHOWN]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: ipc, namespace: {NAMESPACE}, labels: {{app: witness}}}}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  containers:
  - name: writer
    image: {image}
    command: [sh, -c, "echo hi > /dev/shm/from-writer; sleep 12"]
{observer(image, first=SHM_READER)}
---
apiVersion: v1
kind: Pod
metadata: {{name: probed, namespace: {NAMESPACE}, labels: {{app: witness}}}}
spec:
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1  # sleep as PID 1 ignores TERM: KILLed after 1 s, not 30
  containers:
  - name: c
    image: {image}
    command: [sh, -c, "touch /tmp/alive; sleep 3; rm /tmp/alive; exec sleep 3600"]
    livenessProbe:
      exec: {{command: [cat, /tmp/alive]}}
      periodSeconds: 1
      failureThreshold: 2
    readinessProbe:
      exec: {{command: [cat, /tmp/never]}}
      periodSeconds: 1
"""


PRINTING = ("env", "restricted", "plain", "unconfined", "ipc")


def observations(lab: Lab, pod: str) -> dict[str, str]:
    def phase() -> str:
        return str(kubectl_json(lab, "get", "pod", pod, "-n", NAMESPACE)["status"]
                   .get("phase", ""))

    try:
        done = eventually(lambda: phase() in ("Succeeded", "Failed") and phase(), timeout=120)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{kubectl(lab, 'describe', 'pod', pod, '-n', NAMESPACE)}"
                             ) from None
    logs = kubectl(lab, "logs", pod, "-n", NAMESPACE, "-c", "c")
    assert done == "Succeeded", f"pod {pod} on {lab.name} {done}: {logs}"
    return dict(line.split("=", 1) for line in logs.splitlines() if "=" in line)


def probe_outcome(lab: Lab) -> dict[str, Any]:
    """What the probes did to `probed`: restarted by liveness, never ready."""
    def restarted() -> dict[str, Any] | None:
        pod: dict[str, Any] = kubectl_json(lab, "get", "pod", "probed", "-n", NAMESPACE)
        status = (pod["status"].get("containerStatuses") or [{}])[0]
        return pod if status.get("restartCount", 0) >= 1 else None

    pod = eventually(restarted, timeout=120)
    status = pod["status"]["containerStatuses"][0]
    last = status["lastState"]["terminated"]
    ready = next(c["status"] for c in pod["status"]["conditions"] if c["type"] == "Ready")
    return {"ready": status["ready"], "Ready condition": ready,
            "last exit": (last["exitCode"], last["reason"])}


def apply_all(lab: Lab) -> None:
    kubectl(lab, "apply", "-f", "-", input=manifests(lab.images.ref("busybox")))


@pytest.fixture(scope="module")
def containerd_lab() -> Iterator[Lab]:
    if shutil.which("containerd") is None:
        pytest.skip("containerd is not installed (apt-get install containerd)")
    with one_node_lab(runtime="containerd") as lab:
        yield lab


@pytest.fixture(scope="module")
def both(containerd_lab: Lab, cluster: Lab) -> Iterator[tuple[Lab, Lab]]:
    try:
        for lab in (containerd_lab, cluster):
            apply_all(lab)
        yield containerd_lab, cluster
    finally:  # gone before the next module's tests (a drain of node1 would meet its pods)
        kubectl(cluster, "delete", "namespace", NAMESPACE, "--ignore-not-found", "--timeout=100s")


# a few observations the witness must show (upstream's behaviour), so that a pod printing
# nothing on both runtimes cannot pass
ANCHORS = {
    "env": {"W_MODE": "fast", "W_CM_level": "3", "W_SEC_user": "pupil", "W_CPU_M": "250",
            "W_MEM_MI": "64", "W_EXPANDED": "fast-pupil-$(W_MODE)-$(W_UNKNOWN)",
            "W_ARGS": "fast $(W_MODE)", "W_TIER": "env", "W_NODE": "node1", "root": "rw"},
    "restricted": {"id": "uid=1000 gid=3000 groups=2000,3000,4000", "NoNewPrivs": "1",
                   "Seccomp": "2", "root": "ro", "CapBnd": "0000000000000400",
                   "CapEff": "0000000000000000",
                   "content /witness/info/cpu": "500", "file /witness/sec/user": "440 0 2000"},
    "plain": {"id": "uid=0(root) gid=0(root) groups=0(root)", "NoNewPrivs": "0",
              "Seccomp": "0", "root": "rw"},
    "unconfined": {"Seccomp": "0", "CapEff": "00000000aa0435fa"},  # the default set, +2 -1
    "ipc": {"shm shared": "hi"},  # one /dev/shm per pod (the sandbox's), as its IPC namespace
}


@pytest.mark.parametrize("pod", PRINTING)
def test_the_container_sees_the_same_on_both_runtimes(both: tuple[Lab, Lab], pod: str) -> None:
    witness, tested = both
    expected, seen = observations(witness, pod), observations(tested, pod)
    assert {key: expected.get(key) for key in ANCHORS[pod]} == ANCHORS[pod]
    differing = {key: {"containerd": expected.get(key), "nodelab": seen.get(key)}
                 for key in sorted(expected.keys() | seen.keys())
                 if expected.get(key) != seen.get(key)}
    assert not differing, differing


def test_probes_have_the_same_effect_on_both_runtimes(both: tuple[Lab, Lab]) -> None:
    witness, tested = both
    expected = probe_outcome(witness)
    assert expected == {"ready": False, "Ready condition": "False", "last exit": (137, "Error")}
    assert probe_outcome(tested) == expected
    # the readiness probe fails every second with the same message: one Event, counted (the
    # kubelet's event recorder), which `kubectl describe` shows as upstream's `(xN over ...)`
    described = kubectl(tested, "describe", "pod", "probed", "-n", NAMESPACE)
    unhealthy = [row for row in described.splitlines()
                 if "Unhealthy" in row and "Readiness probe failed" in row]
    assert len(unhealthy) == 1 and "(x" in unhealthy[0], described
