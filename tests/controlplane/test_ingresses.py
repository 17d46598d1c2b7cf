"""Ingresses and IngressClasses as the API server serves them (validation/networking/ingresses.py,
the DefaultIngressClass admission plugin in registry/ingress_class.py, the printers): upstream's
rules as table tests, then real kubectl against a real API server. There is no Ingress
controller in a lab, as on a cluster without one: an Ingress is stored and never gets an
address."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nodelab.controlplane.errors import ApiError
from nodelab.controlplane.http.printers.networking import NETWORKING_PRINTERS
from nodelab.controlplane.registry.defaults import apply_defaults
from nodelab.controlplane.registry.ingress_class import admit_ingress
from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.networking.ingresses import (
    validate_ingress,
    validate_ingress_update,
    validate_ingressclass,
)
from tests.controlplane.apiserver import RunningApiServer

BACKEND = {"service": {"name": "web", "port": {"number": 80}}}


def ingress(annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "ing", "namespace": "default",
                         "annotations": annotations or {}}, "spec": spec}


def rule(host: str = "", path: str = "/", path_type: str | None = "Prefix",
         backend: Any = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": path, "backend": backend or BACKEND}
    if path_type is not None:
        entry["pathType"] = path_type
    return {**({"host": host} if host else {}), "http": {"paths": [entry]}}


def causes(check: Any, *args: Any) -> list[str]:
    errors = FieldErrors()
    check(errors, *args)
    return [f"{c.field}: {c.message}" for c in errors.causes]


@pytest.mark.unit
@pytest.mark.parametrize(("obj", "expected"), [
    (ingress(defaultBackend=BACKEND), []),
    (ingress(rules=[rule("foo.example.com"), rule("*.example.com", "/a/b", "Exact")]), []),
    (ingress(rules=[rule(path="", path_type="ImplementationSpecific")],
             tls=[{"hosts": ["foo.example.com"], "secretName": "cert"}],
             ingressClassName="nginx"), []),
    (ingress(), ['spec: Invalid value: null: either `defaultBackend` or `rules` must be '
                 "specified"]),
    (ingress(rules=[rule("10.0.0.1")]),
     ['spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address']),
    (ingress(rules=[rule("foo.*.com")]),
     ['spec.rules[0].host: Invalid value: "foo.*.com": a wildcard DNS-1123 subdomain must '
      "start with '*.', followed by a valid DNS subdomain, which must consist of lower case "
      "alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. "
      r"'*.example.com', regex used for validation is '\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?"
      r"(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"]),
    (ingress(rules=[rule(path_type=None)]),
     ["spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"]),
    (ingress(rules=[rule(path_type="Regex")]),
     ['spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: '
      '"Exact", "ImplementationSpecific", "Prefix"']),
    (ingress(rules=[rule(path="a//b/..")]),
     ['spec.rules[0].http.paths[0].path: Invalid value: "a//b/..": must be an absolute path',
      "spec.rules[0].http.paths[0].path: Invalid value: \"a//b/..\": must not contain '//'",
      "spec.rules[0].http.paths[0].path: Invalid value: \"a//b/..\": cannot end with '/..'"]),
    (ingress(rules=[{"host": "a.com", "http": {"paths": []}}]),
     ["spec.rules[0].http.paths: Required value"]),
    (ingress(defaultBackend={}),
     ['spec.defaultBackend: Invalid value: "": resource or service backend is required']),
    (ingress(defaultBackend={**BACKEND, "resource": {"kind": "Bucket", "name": "b"}}),
     ['spec.defaultBackend: Invalid value: "": cannot set both resource and service backends']),
    (ingress(defaultBackend={"service": {"name": "Web", "port": {}}}),
     ['spec.defaultBackend.service.name: Invalid value: "Web": a DNS-1035 label must consist '
      "of lower case alphanumeric characters or '-', start with an alphabetic character, and "
      "end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
      "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      "spec.defaultBackend: Required value: port name or number is required"]),
    (ingress(defaultBackend={"service": {"name": "web", "port": {"name": "http",
                                                                 "number": 80}}}),
     ['spec.defaultBackend: Invalid value: "": cannot set both port name & port number']),
    (ingress(defaultBackend={"resource": {"apiGroup": "k8s.example.com", "kind": "",
                                          "name": "a/b"}}),
     ["spec.defaultBackend.resource.kind: Required value",
      "spec.defaultBackend.resource.name: Invalid value: \"a/b\": may not contain '/'"]),
    (ingress({"kubernetes.io/ingress.class": "a"}, defaultBackend=BACKEND,
             ingressClassName="b"),
     ['annotations.kubernetes.io/ingress.class: Invalid value: "a": must match '
      "`ingressClassName` when both are specified"]),
])
def test_ingress_validation(obj: dict[str, Any], expected: list[str]) -> None:
    assert causes(validate_ingress, obj) == expected


@pytest.mark.unit
def test_ingress_status_addresses() -> None:
    new = ingress(defaultBackend=BACKEND)
    new["status"] = {"loadBalancer": {"ingress": [{"ip": "nope"}, {"hostname": "1.2.3.4"}]}}
    assert causes(validate_ingress_update, new, ingress(defaultBackend=BACKEND)) == [
        'status.loadBalancer.ingress[0].ip: Invalid value: "nope": must be a valid IP address, '
        "(e.g. 10.9.8.7 or 2001:db8::ffff)",
        'status.loadBalancer.ingress[1].hostname: Invalid value: "1.2.3.4": must be a DNS '
        "name, not an IP address"]


def ingress_class(controller: str = "example.com/ingress-controller",
                  parameters: dict[str, Any] | None = None,
                  default: bool = False) -> dict[str, Any]:
    annotations = {"ingressclass.kubernetes.io/is-default-class": "true"} if default else {}
    spec: dict[str, Any] = {"controller": controller}
    if parameters is not None:
        spec["parameters"] = parameters
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": "c", "annotations": annotations}, "spec": spec}


@pytest.mark.unit
@pytest.mark.parametrize(("obj", "old", "expected"), [
    (ingress_class(), None, []),
    (ingress_class(parameters={"apiGroup": "k8s.example.com", "kind": "IngressParameters",
                               "name": "p", "scope": "Namespace", "namespace": "default"}),
     None, []),
    (ingress_class(""), None, ["spec.controller: Required value"]),
    (ingress_class("nginx"), None,
     ['spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as '
      '"acme.io/foo")']),
    (ingress_class("example.com/b"), ingress_class("example.com/a"),
     ['spec.controller: Invalid value: "example.com/b": field is immutable']),
    (ingress_class(parameters={"kind": "K", "name": "n", "scope": "Namespace"}), None,
     ["spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'"]),
    (ingress_class(parameters={"kind": "K", "name": "n", "scope": "Cluster",
                               "namespace": "x"}), None,
     ["spec.parameters.namespace: Forbidden: `parameters.scope` is set to 'Cluster'"]),
    (ingress_class(parameters={"kind": "K", "name": "n", "scope": "Global"}), None,
     ['spec.parameters.scope: Unsupported value: "Global": supported values: "Cluster", '
      '"Namespace"']),
])
def test_ingress_class_validation(obj: dict[str, Any], old: dict[str, Any] | None,
                                  expected: list[str]) -> None:
    assert causes(validate_ingressclass, obj, old) == expected


@pytest.mark.unit
def test_defaults() -> None:
    made = ingress_class(parameters={"kind": "K", "name": "n"})
    apply_defaults("networking.k8s.io/ingressclasses", made)
    assert made["spec"]["parameters"]["scope"] == "Cluster"
    made = ingress(defaultBackend=BACKEND)
    apply_defaults("networking.k8s.io/ingresses", made)
    assert made["status"] == {"loadBalancer": {}}


@pytest.mark.unit
def test_default_ingress_class_admission() -> None:
    default = {**ingress_class(default=True), "metadata": {
        "name": "nginx", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}}}
    plain = ingress(defaultBackend=BACKEND)
    admit_ingress(plain, [ingress_class(), default])
    assert plain["spec"]["ingressClassName"] == "nginx"
    named = ingress(defaultBackend=BACKEND, ingressClassName="other")
    admit_ingress(named, [default])
    assert named["spec"]["ingressClassName"] == "other"
    annotated = ingress({"kubernetes.io/ingress.class": "old"}, defaultBackend=BACKEND)
    admit_ingress(annotated, [default])
    assert "ingressClassName" not in annotated["spec"]
    with pytest.raises(ApiError) as refused:
        admit_ingress(ingress(defaultBackend=BACKEND), [default, default])
    assert refused.value.message == (
        'ingresses.networking.k8s.io "ing" is forbidden: Internal error occurred: 2 default '
        "IngressClasses were found, only 1 allowed")


@pytest.mark.unit
def test_ingress_row() -> None:
    _, row = NETWORKING_PRINTERS["networking.k8s.io/ingresses"]
    many = ingress(rules=[rule(f"h{i}.example.com") for i in range(5)] + [rule()],
                   tls=[{"hosts": ["h0.example.com"]}], ingressClassName="nginx")
    many["status"] = {"loadBalancer": {"ingress": [{"ip": "10.0.0.2"}, {"hostname": "lb.x"}]}}
    assert row(many)[:5] == ["ing", "nginx", "h0.example.com,h1.example.com,h2.example.com "
                             "+ 3 more...", "10.0.0.2,lb.x", "80, 443"]
    assert row(ingress(defaultBackend=BACKEND))[:5] == ["ing", "<none>", "*", "", "80"]


# --- a real API server, real kubectl ----------------------------------------------------------


@pytest.mark.slow
def test_ingresses_through_kubectl(apiserver: RunningApiServer) -> None:
    resources = [line.split() for line in apiserver.kubectl(
        "api-resources", "--api-group=networking.k8s.io").stdout.splitlines()]
    assert ["ingresses", "ing", "networking.k8s.io/v1", "true", "Ingress"] in resources
    assert ["ingressclasses", "networking.k8s.io/v1", "false", "IngressClass"] in resources
    apiserver.kubectl("create", "-f", "-", input=json.dumps({
        **ingress_class(default=True), "metadata": {
            "name": "nginx", "annotations": {
                "ingressclass.kubernetes.io/is-default-class": "true"}}}))
    classes = apiserver.kubectl("get", "ingressclass").stdout.splitlines()
    assert classes[0].split() == ["NAME", "CONTROLLER", "PARAMETERS", "AGE"]
    assert classes[1].split()[:3] == ["nginx", "example.com/ingress-controller", "<none>"]
    apiserver.kubectl("create", "ingress", "simple", "--rule=foo.com/bar*=svc1:8080,tls=cert")
    rows = apiserver.kubectl("get", "ing").stdout.splitlines()
    assert rows[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert rows[1].split()[:5] == ["simple", "nginx", "foo.com", "80,", "443"]
    stored = apiserver.kubectl_json("get", "ingress", "simple")
    assert stored["spec"]["rules"][0]["http"]["paths"][0] == {
        "path": "/bar", "pathType": "Prefix",
        "backend": {"service": {"name": "svc1", "port": {"number": 8080}}}}
    assert stored["status"] == {"loadBalancer": {}}  # no controller: no address
    described = apiserver.kubectl("describe", "ingress", "simple").stdout
    assert "Ingress Class:    nginx" in described and "foo.com" in described
    bad = apiserver.kubectl("create", "ingress", "bad", "--rule=10.1.2.3/=svc:80",
                            check=False)
    assert bad.returncode != 0
    assert ('error: failed to create ingress: Ingress.networking.k8s.io "bad" is invalid: '
            'spec.rules[0].host: Invalid value: "10.1.2.3": must be a DNS name, not an IP '
            "address") in bad.stderr
