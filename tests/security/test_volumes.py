"""Escapes through volumes, attempted from inside running pods on a real lab.

- configMap/secret volumes are mounted read-only with upstream's atomic-writer layout: the
  container sees `..data` and key symlinks, the modes asked for, and cannot write or plant links;
- a container plants symlinks in an emptyDir (to `/`, to a victim tree outside the lab, climbing
  out with `..`); a later container mounting them as subPath is refused with
  CreateContainerConfigError and an event, and the victim tree is unchanged; a subPath whose links
  stay inside the volume still works;
- the API server refuses absolute and `..` subPaths and item paths (422 with the field path).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from nodelab.lab.lab import Lab

from ..lab.kube import KUBECTL, eventually, kubectl, kubectl_json
from .victim import FIGURE, changes, snapshot

pytestmark = [pytest.mark.slow, pytest.mark.privileged]


def logs_when_done(lab: Lab, pod: str, container: str | None = None) -> str:
    def done() -> str:
        status = kubectl_json(lab, "get", "pod", pod)["status"]
        for entry in status.get("containerStatuses") or []:
            if container in (None, entry["name"]) and "terminated" in (entry.get("state") or {}):
                return "yes"
        return ""

    eventually(done, timeout=90)
    return kubectl(lab, "logs", pod, *(["-c", container] if container else []))


def container_state(lab: Lab, pod: str, name: str) -> dict[str, Any]:
    for entry in kubectl_json(lab, "get", "pod", pod)["status"].get("containerStatuses") or []:
        if entry["name"] == name:
            return dict(entry.get("state") or {})
    return {}


def test_configmap_volume_is_read_only_with_upstreams_layout(lab: Lab) -> None:
    kubectl(lab, "apply", "-f", "-", input=f"""
apiVersion: v1
kind: ConfigMap
metadata: {{name: cfg}}
data: {{a: alpha, b: beta}}
---
apiVersion: v1
kind: Pod
metadata: {{name: cfgpod}}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: {lab.images.ref("busybox")}
    command: [sh, -c, 'ls -a /cfg; echo LINK=$(readlink /cfg/a); stat -L -c "MODE %n %a" /cfg/a
      /cfg/b; touch /cfg/x 2>&1; rm -f /cfg/..data 2>&1; ln -s / /cfg/..data2 2>&1; echo end']
    volumeMounts: [{{name: v, mountPath: /cfg}}]
  volumes:
  - name: v
    configMap:
      name: cfg
      defaultMode: 0400
      items: [{{key: a, path: a}}, {{key: b, path: b, mode: 0600}}]
""")
    out = logs_when_done(lab, "cfgpod")
    assert "..data" in out and "LINK=..data/a" in out
    assert "MODE /cfg/a 400" in out and "MODE /cfg/b 600" in out
    assert out.count("Read-only file system") == 3, out
    FIGURE.record("volume writes from a pod", [] if "end" in out else ["pod did not finish"])


VICTIM_LINK = "victim"


def test_subpath_escapes_from_a_pod_are_refused(lab: Lab, victim: Path) -> None:
    before = snapshot(victim)
    kubectl(lab, "apply", "-f", "-", input=f"""
apiVersion: v1
kind: Pod
metadata: {{name: escape}}
spec:
  restartPolicy: Never
  initContainers:
  - name: plant
    image: {lab.images.ref("busybox")}
    command: [sh, -c, 'ln -s / /data/root; ln -s {victim} /data/{VICTIM_LINK};
      ln -s ../../../../../../../.. /data/climb; mkdir -p /data/ok/dir; echo inside > /data/ok/f;
      ln -s ok/dir /data/good']
    volumeMounts: [{{name: data, mountPath: /data}}]
  containers:
  - name: root
    image: {lab.images.ref("busybox")}
    command: [sh, -c, 'touch /mnt/pwned; chmod 777 /mnt']
    volumeMounts: [{{name: data, mountPath: /mnt, subPath: root}}]
  - name: victim
    image: {lab.images.ref("busybox")}
    command: [sh, -c, 'touch /mnt/pwned; chmod 777 /mnt; chmod 666 /mnt/secret']
    volumeMounts: [{{name: data, mountPath: /mnt, subPath: {VICTIM_LINK}}}]
  - name: climb
    image: {lab.images.ref("busybox")}
    command: [sh, -c, 'touch /mnt/pwned']
    volumeMounts: [{{name: data, mountPath: /mnt, subPath: climb/{str(victim).lstrip("/")}}}]
  - name: ok
    image: {lab.images.ref("busybox")}
    command: [sh, -c, 'cat /f; ls -d /d && echo OK']
    volumeMounts:
    - {{name: data, mountPath: /f, subPath: ok/f}}
    - {{name: data, mountPath: /d, subPath: good}}
  volumes:
  - {{name: data, emptyDir: {{}}}}
""")
    assert "OK" in logs_when_done(lab, "escape", "ok")
    for name in ("root", "victim", "climb"):
        def waiting_of(n: str = name) -> Any:
            return container_state(lab, "escape", n).get("waiting")

        def refused(n: str = name) -> bool:
            reason = container_state(lab, "escape", n)["waiting"].get("reason")
            return bool(reason == "CreateContainerConfigError")

        waiting = eventually(waiting_of, timeout=60)
        eventually(refused, timeout=60)
        assert "would leave the volume" in container_state(lab, "escape", name)["waiting"][
            "message"], waiting
    events = kubectl(lab, "get", "events", "--field-selector", "involvedObject.name=escape")
    assert "would leave the volume" in events
    after = snapshot(victim)
    for _ in ("root", "victim", "climb"):
        FIGURE.record("subPath escapes from a pod", changes(before, after))
    assert changes(before, after) == []
    assert not Path("/pwned").exists()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("subPath", "../../etc", "must not contain '..'"),
    ("subPath", "/etc", "must be a relative path"),
    ("subPath", "a/../../b", "must not contain '..'"),
    ("items", "../x", "must not contain '..'"),
    ("items", "..data/x", "must not start with '..'"),
])
def test_api_refuses_paths_that_leave_a_volume(lab: Lab, field: str, value: str,
                                               message: str) -> None:
    mount = f", subPath: '{value}'" if field == "subPath" else ""
    items = f", items: [{{key: a, path: '{value}'}}]" if field == "items" else ""
    manifest = f"""
apiVersion: v1
kind: Pod
metadata: {{name: badpath}}
spec:
  containers:
  - name: c
    image: {lab.images.ref("busybox")}
    volumeMounts: [{{name: v, mountPath: /v{mount}}}]
  volumes: [{{name: v, configMap: {{name: cfg{items}}}}}]
"""
    done = subprocess.run([KUBECTL, "--kubeconfig", str(lab.kubeconfig), "apply", "-f", "-"],
                          input=manifest, capture_output=True, text=True, timeout=60)
    path = ("spec.containers[0].volumeMounts[0].subPath" if field == "subPath"
            else "spec.volumes[0].configMap.items[0].path")
    FIGURE.record("volume paths (API)", [] if done.returncode != 0 else [value])
    assert done.returncode != 0, done.stdout
    assert path in done.stderr and message in done.stderr, done.stderr
