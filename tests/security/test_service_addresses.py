"""Injection strings in every address field of a Service: refused twice.

The API server answers 422 naming the field (as upstream's validation), and kube-proxy, which
renders the same text into iptables-restore input and nft scripts, checks again: an invalid
Service (as a foreign API server in join mode could hand it over) is skipped with a Warning and
the other Services are still rendered, with no injected text anywhere in the payloads.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from nodelab.proxy.iptables.plan import render_iptables
from nodelab.proxy.model import ProxyNode
from nodelab.proxy.nftables.plan import render_nftables
from nodelab.proxy.object_checks import InvalidObject
from nodelab.proxy.watch import SERVICES, SLICES, ProxyInformer

from ..controlplane.apiserver import RunningApiServer
from ..controlplane.watchclient import request
from .injection import INJECTIONS
from .victim import FIGURE

LB: dict[str, Any] = {"apiVersion": "v1", "kind": "Service",
                      "metadata": {"name": "s", "namespace": "default"},
                      "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}
GOOD: dict[str, Any] = {"metadata": {"namespace": "default", "name": "good"},
                        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.20",
                                 "ports": [{"port": 80, "protocol": "TCP"}]}}
SLICE: dict[str, Any] = {"metadata": {"namespace": "default", "name": "good-1",
                                      "labels": {"kubernetes.io/service-name": "good"}},
                         "addressType": "IPv4", "ports": [{"port": 8080}],
                         "endpoints": [{"addresses": ["10.244.1.2"]}]}


def _set(body: dict[str, Any], field: str, value: str) -> dict[str, Any]:
    obj = copy.deepcopy(body)
    spec = obj["spec"]
    if field in ("externalIPs", "loadBalancerSourceRanges", "clusterIPs"):
        spec[field] = ["10.96.0.30", value] if field == "clusterIPs" else [value]
        if field == "clusterIPs":
            spec["clusterIP"] = "10.96.0.30"
    else:
        spec[field] = value
    return obj


FIELDS = {"clusterIP": "spec.clusterIPs[0]", "clusterIPs": "spec.clusterIPs[1]",
          "externalIPs": "spec.externalIPs[0]", "loadBalancerIP": "spec.loadBalancerIP",
          "loadBalancerSourceRanges": "spec.loadBalancerSourceRanges[0]"}
CASES = [(field, value) for field in FIELDS for value in INJECTIONS]


@pytest.mark.parametrize(("field", "value"), CASES)
def test_api_server_refuses_injection_in_address_fields(
        apiserver: RunningApiServer, field: str, value: str) -> None:
    code, answer = request(apiserver, "POST", "/api/v1/namespaces/default/services",
                           _set(LB, field, value))
    FIGURE.record("service address fields (API)", [] if code == 422 else [f"{field}={value!r}"])
    assert code == 422, answer
    assert FIELDS[field] in [c["field"] for c in answer["details"]["causes"]], answer


@pytest.mark.parametrize("value", INJECTIONS)
def test_api_server_refuses_injection_in_endpoint_addresses(
        apiserver: RunningApiServer, value: str) -> None:
    body = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", **copy.deepcopy(SLICE)}
    body["endpoints"][0]["addresses"] = [value]
    code, answer = request(apiserver, "POST",
                           "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", body)
    FIGURE.record("endpoint addresses (API)", [] if code == 422 else [repr(value)])
    assert code == 422, answer
    assert "endpoints[0].addresses[0]" in [c["field"] for c in answer["details"]["causes"]]


@pytest.mark.unit
@pytest.mark.parametrize(("field", "value"), CASES)
def test_kube_proxy_skips_an_invalid_service_and_syncs_the_others(field: str, value: str) -> None:
    reported: list[InvalidObject] = []
    informer = ProxyInformer(lambda obj, exc: reported.append(exc))
    bad = _set({**LB, "metadata": {"namespace": "default", "name": "bad"}}, field, value)
    informer.replace(SERVICES, [GOOD, bad])
    informer.replace(SLICES, [SLICE])
    assert [r.name for r in reported] == ["bad"]
    assert field in reported[0].problems[0] or field.rstrip("s") in reported[0].problems[0]
    state = informer.state()
    assert set(state.services) == {("default", "good")}
    node = ProxyNode(name="n1")
    payloads = [render_iptables(state, node).payload, render_nftables(state, node).script]
    leaked = [p for p in payloads if "bad" in p or value in p]
    FIGURE.record("service address fields (kube-proxy)", [f"{field}={value!r}"] if leaked else [])
    assert not leaked
    assert all("10.96.0.20" in p for p in payloads)


@pytest.mark.unit
@pytest.mark.parametrize("value", INJECTIONS)
def test_kube_proxy_skips_an_invalid_endpoint_slice(value: str) -> None:
    reported: list[InvalidObject] = []
    informer = ProxyInformer(lambda obj, exc: reported.append(exc))
    bad = copy.deepcopy(SLICE)
    bad["metadata"]["name"] = "good-2"
    bad["endpoints"][0]["addresses"] = [value]
    informer.replace(SERVICES, [GOOD])
    informer.replace(SLICES, [SLICE, bad])
    assert [r.name for r in reported] == ["good-2"]
    payload = render_iptables(informer.state(), ProxyNode(name="n1")).payload
    FIGURE.record("endpoint addresses (kube-proxy)", [repr(value)] if value in payload else [])
    assert value not in payload and "10.244.1.2" in payload


@pytest.mark.unit
@pytest.mark.parametrize("value", INJECTIONS)
def test_kube_proxy_refuses_injection_in_names_and_protocols(value: str) -> None:
    reported: list[InvalidObject] = []
    informer = ProxyInformer(lambda obj, exc: reported.append(exc))
    by_name = {**GOOD, "metadata": {"namespace": "default", "name": value}}
    by_protocol = copy.deepcopy(GOOD)
    by_protocol["metadata"]["name"] = "proto"
    by_protocol["spec"]["ports"][0]["protocol"] = "TCP" + value
    informer.replace(SERVICES, [by_name, by_protocol])
    assert len(reported) == 2 and informer.state().services == {}
    FIGURE.record("service names and protocols (kube-proxy)", [])

