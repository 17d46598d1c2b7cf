"""The NetworkPolicy plan (podnet/policy_plan.py) as table tests: policies, pods and namespaces
in, and whether a connection's first packet passes on the node that plans it; the ruleset text
(policy_ruleset.py) for one plan; the ruleset loaded by a real nft in a scratch namespace."""

from __future__ import annotations

import ipaddress
import subprocess
from typing import Any

import pytest

from nodelab.podnet.policy_plan import allows, plan_pod_rules
from nodelab.podnet.policy_ruleset import ruleset

pytestmark = pytest.mark.unit


def pod(name: str, ip: str, labels: dict[str, str] | None = None, namespace: str = "default",
        node: str = "node1", ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "ports": ports or []}]},
            "status": {"phase": "Running", "podIP": ip}}


def ns(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name,
                         "labels": {"kubernetes.io/metadata.name": name, **labels}}}


def netpol(name: str, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    spec.setdefault("podSelector", {})
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


NAMESPACES = [ns("default"), ns("prod", team="a"), ns("dev", team="b")]
WEB = pod("web", "10.244.1.10", {"app": "web"},
          ports=[{"name": "http", "containerPort": 8080, "protocol": "TCP"}])
PODS = [
    WEB,
    pod("db", "10.244.1.11", {"app": "db"}),
    pod("client", "10.244.2.20", {"access": "true"}, node="node2"),
    pod("other", "10.244.2.21", {}, node="node2"),
    pod("prod-client", "10.244.2.30", {"access": "true"}, namespace="prod", node="node2"),
    pod("dev-client", "10.244.2.31", {"access": "true"}, namespace="dev", node="node2"),
    pod("remote-web", "10.244.2.40", {"app": "web"}, node="node2",
        ports=[{"name": "http", "containerPort": 9090, "protocol": "TCP"}]),
]
IP = {p["metadata"]["name"]: p["status"]["podIP"] for p in PODS}
WEB_ONLY = {"matchLabels": {"app": "web"}}
ACCESS = {"podSelector": {"matchLabels": {"access": "true"}}}
TEAM_A = {"namespaceSelector": {"matchLabels": {"team": "a"}}}


def passes(policies: list[dict[str, Any]], source: str, destination: str, port: int = 80,
           protocol: str = "TCP", node: str = "node1") -> bool:
    plan = plan_pod_rules(node, policies, PODS, NAMESPACES)
    address = {**IP, "outside": "192.168.9.9", "outside-except": "192.168.1.5"}
    return allows(plan, ipaddress.IPv4Address(address[source]),
                  ipaddress.IPv4Address(address[destination]), protocol, port)


# (policies, source, destination, port, protocol, passes on node1)
CASES = [
    # no policy: nothing isolated
    ([], "other", "web", 80, "TCP", True),
    # default deny ingress: an empty podSelector, no rules
    ([netpol("deny", policyTypes=["Ingress"])], "client", "web", 80, "TCP", False),
    ([netpol("deny", policyTypes=["Ingress"])], "client", "db", 80, "TCP", False),
    # ... another namespace's policy does not select default's pods
    ([netpol("deny", namespace="prod", policyTypes=["Ingress"])], "client", "web", 80, "TCP",
     True),
    # podSelector peer: the task's "access=true" (same namespace only)
    ([netpol("access", podSelector=WEB_ONLY, ingress=[{"from": [ACCESS]}])],
     "client", "web", 80, "TCP", True),
    ([netpol("access", podSelector=WEB_ONLY, ingress=[{"from": [ACCESS]}])],
     "other", "web", 80, "TCP", False),
    ([netpol("access", podSelector=WEB_ONLY, ingress=[{"from": [ACCESS]}])],
     "prod-client", "web", 80, "TCP", False),
    # ... a pod the policy does not select stays open
    ([netpol("access", podSelector=WEB_ONLY, ingress=[{"from": [ACCESS]}])],
     "other", "db", 80, "TCP", True),
    # namespaceSelector peer: every pod of the matching namespaces
    ([netpol("ns", ingress=[{"from": [TEAM_A]}])], "prod-client", "web", 80, "TCP", True),
    ([netpol("ns", ingress=[{"from": [TEAM_A]}])], "dev-client", "web", 80, "TCP", False),
    ([netpol("ns", ingress=[{"from": [TEAM_A]}])], "client", "web", 80, "TCP", False),
    # both in one peer: the matching pods in the matching namespaces (AND)
    ([netpol("both", ingress=[{"from": [{**TEAM_A, **ACCESS}]}])],
     "prod-client", "web", 80, "TCP", True),
    ([netpol("both", ingress=[{"from": [{"namespaceSelector": {}, **ACCESS}]}])],
     "dev-client", "web", 80, "TCP", True),
    ([netpol("both", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}},
                                         "podSelector": {"matchLabels": {"app": "x"}}}]}])],
     "dev-client", "web", 80, "TCP", False),
    # two peers in one rule: either (OR)
    ([netpol("either", ingress=[{"from": [TEAM_A, ACCESS]}])], "client", "web", 80, "TCP",
     True),
    # ipBlock with except
    ([netpol("block", ingress=[{"from": [{"ipBlock": {"cidr": "192.168.0.0/16",
                                                      "except": ["192.168.1.0/24"]}}]}])],
     "outside", "web", 80, "TCP", True),
    ([netpol("block", ingress=[{"from": [{"ipBlock": {"cidr": "192.168.0.0/16",
                                                      "except": ["192.168.1.0/24"]}}]}])],
     "outside-except", "web", 80, "TCP", False),
    ([netpol("block", ingress=[{"from": [{"ipBlock": {"cidr": "192.168.0.0/16"}}]}])],
     "client", "web", 80, "TCP", False),
    # ports: a number, another protocol, a range with endPort, a named port, no port
    ([netpol("port", ingress=[{"ports": [{"protocol": "TCP", "port": 80}]}])],
     "client", "web", 80, "TCP", True),
    ([netpol("port", ingress=[{"ports": [{"protocol": "TCP", "port": 80}]}])],
     "client", "web", 81, "TCP", False),
    ([netpol("port", ingress=[{"ports": [{"protocol": "TCP", "port": 80}]}])],
     "client", "web", 80, "UDP", False),
    ([netpol("range", ingress=[{"ports": [{"protocol": "TCP", "port": 1000,
                                           "endPort": 2000}]}])],
     "client", "web", 2000, "TCP", True),
    ([netpol("range", ingress=[{"ports": [{"protocol": "TCP", "port": 1000,
                                           "endPort": 2000}]}])],
     "client", "web", 2001, "TCP", False),
    ([netpol("named", ingress=[{"ports": [{"protocol": "TCP", "port": "http"}]}])],
     "client", "web", 8080, "TCP", True),
    ([netpol("named", ingress=[{"ports": [{"protocol": "TCP", "port": "http"}]}])],
     "client", "web", 80, "TCP", False),
    ([netpol("named", ingress=[{"ports": [{"protocol": "UDP", "port": "http"}]}])],
     "client", "web", 8080, "UDP", False),  # the name is a TCP port's
    ([netpol("named", ingress=[{"ports": [{"protocol": "TCP", "port": "http"}]}])],
     "client", "db", 8080, "TCP", False),  # db has no port of that name: nothing matches
    ([netpol("proto", ingress=[{"ports": [{"protocol": "UDP"}]}])],
     "client", "web", 53, "UDP", True),
    # allow all ingress: one empty rule
    ([netpol("all", ingress=[{}])], "outside", "web", 80, "TCP", True),
    # multiple policies are additive
    ([netpol("deny", policyTypes=["Ingress"]),
      netpol("access", podSelector=WEB_ONLY, ingress=[{"from": [ACCESS]}])],
     "client", "web", 80, "TCP", True),
    ([netpol("deny", policyTypes=["Ingress"]),
      netpol("access", podSelector=WEB_ONLY, ingress=[{"from": [ACCESS]}])],
     "client", "db", 80, "TCP", False),
    # egress: default deny, then to pods, to a named port on the receiving pod, to a block
    ([netpol("deny-out", policyTypes=["Egress"])], "web", "client", 80, "TCP", False),
    ([netpol("deny-out", policyTypes=["Egress"])], "client", "web", 80, "TCP", True),
    ([netpol("out", policyTypes=["Egress"],
             egress=[{"to": [{"podSelector": {"matchLabels": {"app": "web"}}}]}])],
     "web", "remote-web", 80, "TCP", True),
    ([netpol("out", policyTypes=["Egress"],
             egress=[{"to": [{"podSelector": {"matchLabels": {"app": "web"}}}]}])],
     "web", "client", 80, "TCP", False),
    ([netpol("out", policyTypes=["Egress"],
             egress=[{"ports": [{"protocol": "TCP", "port": "http"}]}])],
     "web", "remote-web", 9090, "TCP", True),
    ([netpol("out", policyTypes=["Egress"],
             egress=[{"ports": [{"protocol": "TCP", "port": "http"}]}])],
     "web", "remote-web", 8080, "TCP", False),
    ([netpol("out", policyTypes=["Egress"],
             egress=[{"to": [{"ipBlock": {"cidr": "192.168.0.0/16"}}]}])],
     "db", "outside", 443, "TCP", True),
    # policyTypes: Ingress only leaves egress open; an egress rule without the type is
    # ignored once policyTypes is given
    ([netpol("in-only", policyTypes=["Ingress"], egress=[{"to": [ACCESS]}])],
     "web", "other", 80, "TCP", True),
    # without policyTypes, egress rules make it an Egress policy too (the API's default)
    ([netpol("implied", egress=[{"to": [ACCESS]}])], "web", "other", 80, "TCP", False),
    ([netpol("implied", egress=[{"to": [ACCESS]}])], "web", "client", 80, "TCP", True),
    # a node enforces its own pods only: node1 lets client -> other pass (node2's business)
    ([netpol("deny", policyTypes=["Ingress", "Egress"])], "client", "other", 80, "TCP", True),
    # same-node pods: the sender's egress and the receiver's ingress both apply
    ([netpol("out", podSelector={"matchLabels": {"app": "db"}}, policyTypes=["Egress"],
             egress=[{}]),
      netpol("in", podSelector=WEB_ONLY, ingress=[{"from": [{"podSelector": {
          "matchLabels": {"app": "x"}}}]}])], "db", "web", 80, "TCP", False),
]


@pytest.mark.parametrize(("policies", "source", "destination", "port", "protocol", "expected"),
                         CASES)
def test_plan_allows(policies: list[dict[str, Any]], source: str, destination: str, port: int,
                     protocol: str, expected: bool) -> None:
    assert passes(policies, source, destination, port, protocol) is expected


def test_remote_node_plans_its_own_pods() -> None:
    deny = [netpol("deny", policyTypes=["Ingress", "Egress"])]
    assert passes(deny, "client", "other", node="node2") is False


def test_pods_without_address_or_on_the_host_network_are_not_planned() -> None:
    pending = pod("pending", "", {"app": "web"})
    host = pod("host", "172.29.0.11", {"app": "web"})
    host["spec"]["hostNetwork"] = True
    plan = plan_pod_rules("node1", [netpol("deny")], [pending, host], NAMESPACES)
    assert plan == []


def test_ruleset_text() -> None:
    policies = [netpol("access", podSelector=WEB_ONLY,
                       ingress=[{"from": [ACCESS, {"ipBlock": {"cidr": "192.168.0.0/16",
                                                               "except": ["192.168.1.0/24"]}}],
                                 "ports": [{"protocol": "TCP", "port": 80}]}]),
                netpol("deny-out", podSelector={"matchLabels": {"app": "db"}},
                       policyTypes=["Egress"])]
    text = ruleset(plan_pod_rules("node1", policies, PODS, NAMESPACES))
    assert text == """\
table inet nodelab-netpol {
}
delete table inet nodelab-netpol
table inet nodelab-netpol {
\tchain egress-default/db {
\t\tdrop comment "default/deny-out: isolated for egress"
\t}
\tchain ingress-default/web {
\t\tip saddr { 10.244.2.20 } meta l4proto tcp th dport 80 accept comment \
"default/access ingress[0]"
\t\tip saddr 192.168.0.0/16 ip saddr != { 192.168.1.0/24 } meta l4proto tcp th dport 80 \
accept comment "default/access ingress[0]"
\t\tdrop comment "default/access: isolated for ingress"
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tct state established,related accept
\t\tip saddr 10.244.1.11 jump egress-default/db
\t\tip daddr 10.244.1.10 jump ingress-default/web
\t}
}
"""


@pytest.mark.privileged
def test_nft_loads_the_ruleset_twice() -> None:
    """Real nft in a scratch network namespace: the ruleset loads, and loads again over
    itself (the table is replaced in one transaction)."""
    policies = [netpol("access", podSelector=WEB_ONLY, ingress=[{"from": [ACCESS]}],
                       egress=[{"ports": [{"protocol": "TCP", "port": "http"},
                                          {"protocol": "UDP", "port": 53, "endPort": 60}]}])]
    text = ruleset(plan_pod_rules("node1", policies, PODS, NAMESPACES))
    script = "nft -f - <<'EOF'\n" + text + "EOF\n"
    result = subprocess.run(["unshare", "-n", "sh", "-c", script + script +
                             "nft list table inet nodelab-netpol"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "jump ingress-default/web" in result.stdout
    assert "ip daddr 10.244.2.40 tcp dport 9090 return" in result.stdout
    assert "udp dport 53-60 return" in result.stdout


HOSTILE = 'x" ; flush ruleset ; add table ip "evil'


def test_names_and_values_only_a_foreign_api_server_could_send_stay_out_of_the_ruleset() -> None:
    """Names, protocols and ports the API would refuse (a joined cluster's server is not ours)
    never reach nft's parser: a digest names the chain, comments keep only plain characters,
    an unknown protocol or a bad port matches nothing."""
    hostile = pod(HOSTILE, "10.244.1.50", {"app": "web"})
    policies = [netpol(HOSTILE, podSelector=WEB_ONLY,
                       ingress=[{"ports": [{"protocol": "TCP; flush ruleset", "port": 1},
                                           {"protocol": "TCP", "port": "80; flush"},
                                           {"protocol": "UDP", "port": 70000},
                                           {"protocol": "TCP", "port": 22}]}])]
    text = ruleset(plan_pod_rules("node1", policies, [*PODS, hostile], NAMESPACES))
    assert HOSTILE not in text and ";" not in text.replace("policy accept;", "").replace(
        "priority filter;", "")
    assert all(line.count('"') in (0, 2) for line in text.splitlines())  # quotes: comments only
    assert "tcp th dport 22 accept" in text.replace("meta l4proto ", "")
    result = subprocess.run(["unshare", "-n", "sh", "-c", "nft -f - && nft list ruleset"],
                            input=text, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "table ip evil" not in result.stdout
