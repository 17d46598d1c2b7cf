"""policy/v1 PodDisruptionBudgets served as upstream serves them: validation as upstream's
pkg/apis/policy/validation (table tests), then real kubectl against a real API server
(`kubectl create pdb`, the docs' manifests, `kubectl get pdb`'s columns, the status
subresource, the generation)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from kubernetes import client as k8s

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.policy import validate_pdb
from tests.controlplane.apiserver import RunningApiServer

APP = {"matchLabels": {"app": "web"}}


def pdb(name: str = "p", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name}, "spec": spec}


@pytest.mark.unit
@pytest.mark.parametrize(("spec", "causes"), [
    ({"minAvailable": 2, "selector": APP}, []),
    ({"maxUnavailable": "25%", "selector": APP}, []),
    ({"minAvailable": "100%", "selector": {}}, []),
    ({"minAvailable": 0}, []),  # no selector: valid, it selects no pod
    ({"selector": APP}, []),  # neither bound: valid in policy/v1 (no defaulting)
    ({"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow"}, []),
    ({"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "IfHealthyBudget"}, []),
    ({"minAvailable": 1, "maxUnavailable": 1},
     ['spec: Invalid value: {"minAvailable":1,"maxUnavailable":1}: minAvailable and '
      "maxUnavailable cannot be both set"]),
    ({"minAvailable": -1}, ["spec.minAvailable: Invalid value: -1: must be greater than or "
                            "equal to 0"]),
    ({"maxUnavailable": "101%"}, ['spec.maxUnavailable: Invalid value: "101%": must not be '
                                  "greater than 100%"]),
    ({"maxUnavailable": "5"},
     ['spec.maxUnavailable: Invalid value: "5": a valid percent string must be a numeric '
      "string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is "
      "'[0-9]+%')"]),
    ({"minAvailable": 1, "unhealthyPodEvictionPolicy": "Never"},
     ['spec.unhealthyPodEvictionPolicy: Unsupported value: "Never": supported values: '
      '"AlwaysAllow", "IfHealthyBudget"']),
    ({"minAvailable": 1, "selector": {"matchExpressions": [{"key": "app", "operator": "In"}]}},
     ["spec.selector.matchExpressions[0].values: Required value: must be specified when "
      "`operator` is 'In' or 'NotIn'"]),
    ({"minAvailable": 1, "selector": {"matchLabels": {"app": "-web"}}},
     ['spec.selector.matchLabels: Invalid value: "-web": a valid label must be an empty string '
      "or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
      "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
      "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"]),
    ({"minAvailable": 1, "selector": {"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["ok", "not ok", "x" * 64]}]}},
     ['spec.selector.matchExpressions[0].values[1]: Invalid value: "not ok": a valid label must '
      "be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
      "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
      "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
      f'spec.selector.matchExpressions[0].values[2]: Invalid value: "{"x" * 64}": must be no '
      "more than 63 bytes"]),
])
def test_validation(spec: dict[str, Any], causes: list[str]) -> None:
    errors = FieldErrors()
    validate_pdb(errors, pdb(**spec), None)
    assert [f"{c.field}: {c.message}" for c in errors.causes] == causes


@pytest.mark.unit
def test_status_counters_may_not_be_negative() -> None:
    errors = FieldErrors()
    new = {**pdb(minAvailable=1), "status": {"disruptionsAllowed": -1, "currentHealthy": 0,
                                             "desiredHealthy": 0, "expectedPods": -2}}
    validate_pdb(errors, new, pdb(minAvailable=1))
    assert [c.field for c in errors.causes] == ["status.disruptionsAllowed",
                                                "status.expectedPods"]


# --- a real API server, real kubectl ----------------------------------------------------------


DOCS_ZK_PDB = """apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: zk-pdb
spec:
  minAvailable: 2
  selector:
    matchLabels:
      app: zookeeper
"""


@pytest.mark.slow
def test_pdbs_through_kubectl(apiserver: RunningApiServer) -> None:
    made = apiserver.kubectl("create", "pdb", "web", "--selector=app=web", "--min-available=2")
    assert made.stdout.strip() == "poddisruptionbudget.policy/web created"
    apiserver.kubectl("apply", "-f", "-", input=DOCS_ZK_PDB)
    apiserver.kubectl("create", "poddisruptionbudget", "half", "--selector=app=db",
                      "--max-unavailable=50%")
    lines = apiserver.kubectl("get", "poddisruptionbudgets").stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0].strip()) == ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE",
                                     "ALLOWED DISRUPTIONS", "AGE"]
    rows = {line.split()[0]: line.split()[1:4] for line in lines[1:]}
    assert rows == {"web": ["2", "N/A", "0"], "zk-pdb": ["2", "N/A", "0"],
                    "half": ["N/A", "50%", "0"]}
    stored = apiserver.kubectl_json("get", "pdb", "zk-pdb")
    assert stored["metadata"]["generation"] == 1
    assert stored["status"] == {"disruptionsAllowed": 0, "currentHealthy": 0,
                                "desiredHealthy": 0, "expectedPods": 0}
    resources = apiserver.kubectl("api-resources", "--api-group=policy").stdout
    assert resources.splitlines()[1].split() == ["poddisruptionbudgets", "pdb", "policy/v1",
                                                 "true", "PodDisruptionBudget"]
    assert "minAvailable" in apiserver.kubectl("explain", "pdb.spec").stdout

    # a spec change moves the generation on; the status stays the controller's
    apiserver.kubectl("patch", "pdb", "zk-pdb", "--type=merge", "-p",
                      '{"spec": {"minAvailable": 1}, "status": {"expectedPods": 9}}')
    patched = apiserver.kubectl_json("get", "pdb", "zk-pdb")
    assert (patched["metadata"]["generation"], patched["status"]["expectedPods"]) == (2, 0)
    apiserver.kubectl("patch", "pdb", "zk-pdb", "--subresource=status", "--type=merge", "-p",
                      '{"status": {"expectedPods": 3, "observedGeneration": 2}}')
    assert apiserver.kubectl_json("get", "pdb", "zk-pdb")["status"]["expectedPods"] == 3

    refused = apiserver.kubectl("create", "-f", "-", check=False, input=json.dumps(
        pdb("both", minAvailable=1, maxUnavailable="10%", selector=APP)))
    assert refused.returncode == 1
    assert 'The PodDisruptionBudget "both" is invalid' in refused.stderr
    assert "minAvailable and maxUnavailable cannot be both set" in refused.stderr
    negative = apiserver.kubectl("patch", "pdb", "web", "--subresource=status", "--type=merge",
                                 "-p", '{"status": {"disruptionsAllowed": -1}}', check=False)
    assert "status.disruptionsAllowed: Invalid value: -1: must be greater than or equal to 0" \
        in negative.stderr


@pytest.mark.slow
def test_python_client_reads_a_new_pdb(apiserver: RunningApiServer) -> None:
    """The official client requires the four status counters (not omitempty in Go)."""
    policy = k8s.PolicyV1Api(apiserver.client())
    body = k8s.V1PodDisruptionBudget(
        metadata=k8s.V1ObjectMeta(name="py"),
        spec=k8s.V1PodDisruptionBudgetSpec(max_unavailable=1, selector=k8s.V1LabelSelector(
            match_labels={"app": "py"})))
    made = policy.create_namespaced_pod_disruption_budget("default", body)
    assert made.status.disruptions_allowed == 0 and made.spec.max_unavailable == 1
    listed = policy.list_namespaced_pod_disruption_budget("default")
    assert "py" in [p.metadata.name for p in listed.items]
