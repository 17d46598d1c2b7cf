"""The pod's DNS configuration per dnsPolicy, as upstream's GetPodDNS forms it (pods/dns.py)."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.kubelet.pods.dns import PodDNS, ResolvConf, parse_resolv_conf, pod_dns

pytestmark = pytest.mark.unit

NODE = ResolvConf(servers=("192.0.2.53",), searches=("corp.example",), options=("edns0",))
CLUSTER = ["10.96.0.10"]
SEARCH = ("team.svc.cluster.local", "svc.cluster.local", "cluster.local")


def pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "team"}, "spec": spec}


@pytest.mark.parametrize(("spec", "cluster_dns", "servers", "searches", "options"), [
    ({}, CLUSTER, ("10.96.0.10",), (*SEARCH, "corp.example"), ("ndots:5",)),
    ({"dnsPolicy": "ClusterFirst"}, CLUSTER, ("10.96.0.10",), (*SEARCH, "corp.example"),
     ("ndots:5",)),
    ({"dnsPolicy": "ClusterFirst", "hostNetwork": True}, CLUSTER, ("192.0.2.53",),
     ("corp.example",), ("edns0",)),
    ({"dnsPolicy": "ClusterFirstWithHostNet", "hostNetwork": True}, CLUSTER, ("10.96.0.10",),
     (*SEARCH, "corp.example"), ("ndots:5",)),
    ({"dnsPolicy": "Default"}, CLUSTER, ("192.0.2.53",), ("corp.example",), ("edns0",)),
    ({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["192.0.2.1"]}}, CLUSTER,
     ("192.0.2.1",), (), ()),
    ({}, [], ("192.0.2.53",), ("corp.example",), ("edns0",)),
])
def test_policies(spec: dict[str, Any], cluster_dns: list[str], servers: tuple[str, ...],
                  searches: tuple[str, ...], options: tuple[str, ...]) -> None:
    dns = pod_dns(pod(**spec), NODE, cluster_dns, "cluster.local")
    assert (dns.servers, dns.searches, dns.options) == (servers, searches, options)


def test_cluster_policy_without_cluster_dns_warns_and_falls_back() -> None:
    dns = pod_dns(pod(), NODE, [], "cluster.local")
    assert dns.warnings == (("MissingClusterDNS",
                             'kubelet does not have ClusterDNS IP configured and cannot create '
                             'Pod using "ClusterFirst" policy. Falling back to "Default" '
                             'policy.'),)


def test_dns_config_is_appended_without_duplicates_and_options_replace_by_name() -> None:
    spec = {"dnsConfig": {"nameservers": ["10.96.0.10", "192.0.2.1"],
                          "searches": ["svc.cluster.local", "my.dns.search.suffix"],
                          "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}}
    dns = pod_dns(pod(**spec), ResolvConf(), CLUSTER, "cluster.local")
    assert dns.servers == ("10.96.0.10", "192.0.2.1")
    assert dns.searches == (*SEARCH, "my.dns.search.suffix")
    assert dns.options == ("ndots:2", "edns0")
    assert dns.warnings == ()


def test_limits_cut_nameservers_and_search_paths_with_warnings() -> None:
    spec = {"dnsPolicy": "None",
            "dnsConfig": {"nameservers": [f"192.0.2.{i}" for i in range(1, 5)],
                          "searches": [f"d{i}.example" for i in range(40)] + ["x" * 254]}}
    dns = pod_dns(pod(**spec), ResolvConf(), CLUSTER, "cluster.local")
    assert dns.servers == ("192.0.2.1", "192.0.2.2", "192.0.2.3")
    assert len(dns.searches) == 32
    assert [reason for reason, _ in dns.warnings] == ["DNSConfigForming", "DNSConfigForming"]
    assert "the applied nameserver line is: 192.0.2.1 192.0.2.2 192.0.2.3" in dns.warnings[0][1]


def test_search_line_is_cut_to_2048_characters() -> None:
    long = [f"{i:02d}" + "a" * 200 + ".example" for i in range(12)]
    dns = pod_dns(pod(dnsPolicy="None", dnsConfig={"searches": long}), ResolvConf(), [], "")
    assert len(" ".join(dns.searches)) <= 2048
    assert dns.searches == tuple(long[: len(dns.searches)])
    assert len(dns.searches) == 9


def test_parse_resolv_conf_accumulates_servers_and_keeps_the_last_search_and_options() -> None:
    text = ("# comment\nnameserver 192.0.2.1\nsearch a.example. b.example\nnameserver 192.0.2.2\n"
            "options ndots:1\nsearch c.example\noptions edns0 rotate\nnameserver\n")
    assert parse_resolv_conf(text) == ResolvConf(("192.0.2.1", "192.0.2.2"), ("c.example",),
                                                 ("edns0", "rotate"))


def test_cri_message() -> None:
    assert PodDNS(("10.96.0.10",), ("a",), ("ndots:5",)).cri() == {
        "servers": ["10.96.0.10"], "searches": ["a"], "options": ["ndots:5"]}
