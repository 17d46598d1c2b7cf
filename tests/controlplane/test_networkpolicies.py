"""NetworkPolicies as the API server serves them (validation/networking/networkpolicies.py, the
defaults, the printer): upstream's rules as table tests, then real kubectl against a real API
server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nodelab.controlplane.registry.defaults import apply_defaults
from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.networking.networkpolicies import validate_networkpolicy
from nodelab.kube.label_selectors import selector_text
from tests.controlplane.apiserver import RunningApiServer

KEY = "networking.k8s.io/networkpolicies"


def policy(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "np", "namespace": "default"}, "spec": spec}


def causes(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    errors = FieldErrors()
    validate_networkpolicy(errors, obj, old)
    return [f"{c.field}: {c.message}" for c in errors.causes]


@pytest.mark.unit
@pytest.mark.parametrize(("spec", "expected"), [
    ({}, {"podSelector": {}, "policyTypes": ["Ingress"]}),
    ({"egress": [{}]}, {"podSelector": {}, "egress": [{}], "policyTypes": ["Ingress", "Egress"]}),
    ({"policyTypes": ["Egress"]}, {"podSelector": {}, "policyTypes": ["Egress"]}),
    ({"ingress": [{"ports": [{"port": 80}, {"protocol": "UDP", "port": 53}]}]},
     {"podSelector": {}, "policyTypes": ["Ingress"],
      "ingress": [{"ports": [{"port": 80, "protocol": "TCP"},
                             {"protocol": "UDP", "port": 53}]}]}),
])
def test_defaults(spec: dict[str, Any], expected: dict[str, Any]) -> None:
    obj = policy(**spec)
    apply_defaults(KEY, obj)
    assert obj["spec"] == expected


PEER = {"podSelector": {"matchLabels": {"app": "db"}}}


@pytest.mark.unit
@pytest.mark.parametrize(("spec", "expected"), [
    ({"podSelector": {}, "ingress": [{"from": [PEER], "ports": [{"port": 80}]}]}, []),
    ({"podSelector": {}, "ingress": [{"from": [{**PEER, "namespaceSelector": {}}]}]}, []),
    ({"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.1/8",
                                                           "except": ["10.1.0.0/16"]}}]}]}, []),
    ({"podSelector": {}, "ingress": [{"ports": [{"port": "http"}, {"port": 1000,
                                                                  "endPort": 2000}]}]}, []),
    ({"podSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}},
     ["spec.podSelector.matchExpressions[0].values: Required value: must be specified when "
      "`operator` is 'In' or 'NotIn'"]),
    ({"ingress": [{"from": [{}]}]},
     ["spec.ingress[0].from[0]: Required value: must specify a peer"]),
    ({"egress": [{"to": [{**PEER, "ipBlock": {"cidr": "10.0.0.0/8"}}]}]},
     ["spec.egress[0].to[0]: Forbidden: may not specify both ipBlock and another peer"]),
    ({"ingress": [{"from": [{"ipBlock": {"cidr": ""}}]}]},
     ["spec.ingress[0].from[0].ipBlock.cidr: Required value"]),
    ({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0"}}]}]},
     ['spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0": must be a valid CIDR '
      "value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"]),
    ({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8",
                                         "except": ["10.0.0.0/8", "11.0.0.0/16"]}}]}]},
     ['spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.0.0.0/8": must be a '
      "strict subset of `cidr`",
      'spec.ingress[0].from[0].ipBlock.except[1]: Invalid value: "11.0.0.0/16": must be a '
      "strict subset of `cidr`"]),
    ({"ingress": [{"ports": [{"protocol": "ICMP"}]}]},
     ['spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: '
      '"TCP", "UDP", "SCTP"']),
    ({"ingress": [{"ports": [{"port": 0}]}]},
     ["spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, "
      "inclusive"]),
    ({"ingress": [{"ports": [{"port": 100, "endPort": 99}]}]},
     ["spec.ingress[0].ports[0].endPort: Invalid value: 99: must be greater than or equal to "
      "`port`"]),
    ({"ingress": [{"ports": [{"port": "http", "endPort": 99}]}]},
     ["spec.ingress[0].ports[0].endPort: Invalid value: 99: may not be specified when `port` "
      "is non-numeric"]),
    ({"ingress": [{"ports": [{"endPort": 99}]}]},
     ["spec.ingress[0].ports[0].endPort: Invalid value: 99: may not be specified when `port` "
      "is not specified"]),
    ({"ingress": [{"ports": [{"port": "Not_A_Name"}]}]},
     ['spec.ingress[0].ports[0].port: Invalid value: "Not_A_Name": must contain only '
      "alpha-numeric characters (a-z, 0-9), and hyphens (-)"]),
    ({"policyTypes": ["Ingress", "Egress", "Ingress"]},
     ['spec.policyTypes: Invalid value: ["Ingress","Egress","Ingress"]: may not specify more '
      "than two policyTypes"]),
    ({"policyTypes": ["ingress"]},
     ['spec.policyTypes[0]: Unsupported value: "ingress": supported values: "Ingress", '
      '"Egress"']),
])
def test_validation(spec: dict[str, Any], expected: list[str]) -> None:
    assert causes(policy(**spec)) == expected


@pytest.mark.unit
def test_an_update_keeps_a_cidr_the_old_policy_held() -> None:
    """upstream's AllowCIDRsEvenIfInvalid: a CIDR already stored is not checked again."""
    old = policy(ingress=[{"from": [{"ipBlock": {"cidr": "bad"}}]}])
    new = policy(ingress=[{"from": [{"ipBlock": {"cidr": "bad"}}, {"ipBlock": {"cidr": "x"}}]}])
    assert causes(new, old) == ['spec.ingress[0].from[1].ipBlock.cidr: Invalid value: "x": '
                                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or "
                                "2001:db8::/64)"]


@pytest.mark.unit
@pytest.mark.parametrize(("selector", "text"), [
    ({}, "<none>"),
    ({"matchLabels": {"role": "db", "app": "x"}}, "app=x,role=db"),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]},
                           {"key": "env", "operator": "DoesNotExist"},
                           {"key": "x", "operator": "NotIn", "values": ["1"]},
                           {"key": "y", "operator": "Exists"}]},
     "!env,tier in (a,b),x notin (1),y"),
])
def test_selector_text(selector: dict[str, Any], text: str) -> None:
    assert selector_text(selector) == text


# --- a real API server, real kubectl ----------------------------------------------------------


@pytest.mark.slow
def test_networkpolicies_are_served(apiserver: RunningApiServer) -> None:
    resources = apiserver.kubectl("api-resources", "--api-group=networking.k8s.io").stdout
    assert ["networkpolicies", "netpol", "networking.k8s.io/v1", "true", "NetworkPolicy"] in [
        line.split() for line in resources.splitlines()]
    explained = apiserver.kubectl("explain", "netpol.spec.policyTypes").stdout
    assert "FIELD: policyTypes <[]string>" in explained
    assert apiserver.kubectl("get", "netpol").stderr.strip() == \
        "No resources found in default namespace."
    apiserver.kubectl("create", "-f", "-", input=json.dumps(policy(
        podSelector={"matchExpressions": [{"key": "tier", "operator": "In",
                                           "values": ["db", "cache"]}]},
        egress=[{"ports": [{"port": 53}]}])))
    rows = apiserver.kubectl("get", "netpol").stdout.splitlines()
    assert rows[0].split() == ["NAME", "POD-SELECTOR", "AGE"]
    assert rows[1].split()[:4] == ["np", "tier", "in", "(cache,db)"]
    stored = apiserver.kubectl_json("get", "netpol", "np")["spec"]
    assert stored["policyTypes"] == ["Ingress", "Egress"]
    assert stored["egress"] == [{"ports": [{"port": 53, "protocol": "TCP"}]}]
    described = apiserver.kubectl("describe", "netpol", "np").stdout
    assert "PodSelector:     tier in (cache,db)" in described, described
    assert "Policy Types: Ingress, Egress" in described, described
    bad = apiserver.kubectl("create", "-f", "-", check=False, input=json.dumps({
        **policy(ingress=[{"from": [{}]}]), "metadata": {"name": "bad"}}))
    assert bad.returncode != 0
    assert ('The NetworkPolicy "bad" is invalid: spec.ingress[0].from[0]: Required value: '
            "must specify a peer") in bad.stderr
    apiserver.kubectl("delete", "netpol", "np")
