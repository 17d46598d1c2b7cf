"""The docs' CronTab task on a real lab with real kubectl: the CRD, an object with printer
columns, a bad object refused naming its field, a ConfigMap owned by a CronTab collected
with it, and deleting the CRD deleting its objects."""

from __future__ import annotations

import subprocess

import pytest

from nodelab.lab.lab import Lab
from tests.conftest import needs_root
from tests.controlplane.test_custom_resources import CRONTAB, CRONTAB_CRD
from tests.lab.kube import KUBECTL, eventually, kubectl, kubectl_json

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]
CRD = "crontabs.stable.example.com"


def refused(lab: Lab, *args: str) -> str:
    """kubectl's error text for a command that must fail."""
    result = subprocess.run([KUBECTL, "--kubeconfig", str(lab.kubeconfig), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0, result.stdout
    return result.stderr


def test_the_docs_crontab_on_a_lab(cluster: Lab) -> None:
    kubectl(cluster, "apply", "-f", "-", input=CRONTAB_CRD)
    try:
        kubectl(cluster, "wait", "--for", "condition=established", f"crd/{CRD}")
        kubectl(cluster, "apply", "-f", "-", input=CRONTAB)
        lines = kubectl(cluster, "get", "ct").strip().split("\n")
        assert lines[0].split() == ["NAME", "SPEC", "REPLICAS", "AGE"]
        assert lines[1].split()[:7] == ["my-new-cron-object", "*", "*", "*", "*", "*/5", "1"]
        assert ('spec.replicas: Invalid value: "string": spec.replicas in body must be of type '
                'integer: "string"') in refused(
            cluster, "patch", "crontab", "my-new-cron-object", "--type=merge", "-p",
            '{"spec":{"replicas":"two"}}')
        owner = kubectl_json(cluster, "get", "ct", "my-new-cron-object")["metadata"]["uid"]
        kubectl(cluster, "apply", "-f", "-", input=f"""
apiVersion: v1
kind: ConfigMap
metadata:
  name: crontab-owned
  ownerReferences:
  - apiVersion: stable.example.com/v1
    kind: CronTab
    name: my-new-cron-object
    uid: {owner}
data: {{a: b}}
""")
        kubectl(cluster, "delete", "ct", "my-new-cron-object")
        eventually(lambda: "NotFound" in refused(cluster, "get", "cm", "crontab-owned"),
                   timeout=30)
        kubectl(cluster, "apply", "-f", "-", input=CRONTAB)
    finally:
        kubectl(cluster, "delete", "crd", CRD, "--ignore-not-found", "--timeout=60s")
    assert "NotFound" in refused(cluster, "get", "--raw",
                                 "/apis/stable.example.com/v1/namespaces/default/crontabs")
