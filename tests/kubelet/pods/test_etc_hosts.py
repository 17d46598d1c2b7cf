"""The kubelet-managed /etc/hosts (pods/etc_hosts.py), against upstream's own cases
(kubelet_pods_test.go TestManagedHostsFileContent, TestNodeHostsFileContent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nodelab.kubelet.pods.etc_hosts import (
    hosts_file_content,
    hosts_mounts,
    managed_hosts_file_content,
    node_hosts_file_content,
    pod_hostname_and_domain,
    should_mount_hosts_file,
)

pytestmark = pytest.mark.unit

ALIASES = [{"ip": "123.45.67.89", "hostnames": ["foo", "bar", "baz"]},
           {"ip": "456.78.90.123", "hostnames": ["park", "doo", "boo"]}]


@pytest.mark.parametrize(("ips", "hostname", "domain", "aliases", "expected"), [
    (["123.45.67.89"], "podFoo", "", [],
     "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
     "::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
     "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
     "123.45.67.89\tpodFoo\n"),
    (["203.0.113.1"], "podFoo", "domainFoo", [],
     "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
     "::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
     "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
     "203.0.113.1\tpodFoo.domainFoo\tpodFoo\n"),
    (["203.0.113.1"], "podFoo", "domainFoo", ALIASES[:1],
     "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
     "::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
     "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
     "203.0.113.1\tpodFoo.domainFoo\tpodFoo\n\n# Entries added by HostAliases.\n"
     "123.45.67.89\tfoo\tbar\tbaz\n"),
    (["203.0.113.1", "fd00::6"], "podFoo", "domainFoo", ALIASES,
     "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
     "::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
     "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
     "203.0.113.1\tpodFoo.domainFoo\tpodFoo\nfd00::6\tpodFoo.domainFoo\tpodFoo\n\n"
     "# Entries added by HostAliases.\n123.45.67.89\tfoo\tbar\tbaz\n"
     "456.78.90.123\tpark\tdoo\tboo\n"),
])
def test_managed_hosts_file_content(ips: list[str], hostname: str, domain: str,
                                    aliases: list[dict[str, Any]], expected: str) -> None:
    assert managed_hosts_file_content(ips, hostname, domain, aliases) == expected


def test_node_hosts_file_content_keeps_the_nodes_file_and_adds_aliases() -> None:
    node = "127.0.0.1\tlocalhost\n192.0.2.1\tnode1\n"
    assert node_hosts_file_content(node, []) == (
        "# Kubernetes-managed hosts file (host network).\n" + node)
    assert node_hosts_file_content(node, ALIASES[1:]) == (
        "# Kubernetes-managed hosts file (host network).\n" + node
        + "\n# Entries added by HostAliases.\n456.78.90.123\tpark\tdoo\tboo\n")


def pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web-0", "namespace": "team"}, "spec": spec}


@pytest.mark.parametrize(("spec", "expected"), [
    ({}, ("web-0", "")),
    ({"hostname": "h"}, ("h", "")),
    ({"hostname": "h", "subdomain": "s"}, ("h", "s.team.svc.cluster.local")),
    ({"hostname": "a" * 62 + "-b"}, ("a" * 62, "")),  # cut to 63, no trailing '-'
])
def test_hostname_and_domain(spec: dict[str, Any], expected: tuple[str, str]) -> None:
    assert pod_hostname_and_domain(pod(**spec), "cluster.local") == expected


def test_the_form_follows_host_network() -> None:
    own = hosts_file_content(pod(hostAliases=ALIASES[:1]), ["10.244.0.5"], "cluster.local",
                             "ignored")
    assert own.startswith("# Kubernetes-managed hosts file.\n")
    assert "10.244.0.5\tweb-0\n" in own and own.endswith("123.45.67.89\tfoo\tbar\tbaz\n")
    node = hosts_file_content(pod(hostNetwork=True), ["192.0.2.11"], "cluster.local",
                              "192.0.2.11\tnode1\n")
    assert node == "# Kubernetes-managed hosts file (host network).\n192.0.2.11\tnode1\n"


@pytest.mark.parametrize(("mounts", "ips", "expected"), [
    ([], ["10.244.0.5"], True),
    ([], [], False),  # no IP yet: upstream leaves the runtime's file
    ([{"name": "v", "mountPath": "/etc/hosts"}], ["10.244.0.5"], False),
    ([{"name": "v", "mountPath": "/etc"}], ["10.244.0.5"], True),
])
def test_should_mount(mounts: list[dict[str, str]], ips: list[str], expected: bool) -> None:
    assert should_mount_hosts_file({"volumeMounts": mounts}, ips) is expected


def test_hosts_mounts_writes_the_file_and_mounts_it_read_write(tmp_path: Path) -> None:
    mounts = hosts_mounts(pod(hostAliases=ALIASES[:1]), {}, tmp_path / "pod", ["10.244.0.5"],
                          "cluster.local")
    written = tmp_path / "pod" / "etc-hosts"
    assert mounts == [{"containerPath": "/etc/hosts", "hostPath": str(written),
                       "readonly": False}]
    assert written.stat().st_mode & 0o777 == 0o644
    assert written.read_text().endswith("# Entries added by HostAliases.\n"
                                        "123.45.67.89\tfoo\tbar\tbaz\n")
    assert hosts_mounts(pod(), {}, tmp_path / "other", [], "cluster.local") == []
    assert not (tmp_path / "other").exists()
