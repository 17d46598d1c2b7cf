"""The pod's /etc/hosts, as the kubelet manages it (upstream's kubelet_pods.go).

The kubelet, not the runtime, owns a pod's hosts file: it writes `<pod dir>/etc-hosts` and
mounts it at `/etc/hosts` in every container (`makeHostsMount`), so `hostAliases` and the
pod's FQDN reach it on any CRI runtime. Upstream's rules, kept here as pure functions:

- the file is mounted only once the pod has IPs (`shouldMountHostsFile`), and not into a
  container that mounts a volume at /etc/hosts itself;
- a pod network pod gets `managedHostsFileContent`: the header, the localhost lines, one
  `<ip>\\t<hostname>` line per pod IP (`<ip>\\t<hostname>.<domain>\\t<hostname>` with a
  `subdomain`), then `hostAliases`;
- a hostNetwork pod gets the node's own /etc/hosts under another header, then `hostAliases`;
- `hostAliases` come after a blank line and `# Entries added by HostAliases.`, one line per
  entry, its hostnames joined by tabs.

Hostname and domain are `GeneratePodHostNameAndDomain`'s: `spec.hostname` or the pod name (cut
to 63 characters, no trailing `-` or `.`), and `<subdomain>.<namespace>.svc.<cluster domain>`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nodelab.host.etc_hosts import LOCAL_ENTRIES
from nodelab.kube.objects import ObjectView

ETC_HOSTS = "/etc/hosts"
MANAGED_HEADER = "# Kubernetes-managed hosts file.\n"
MANAGED_HEADER_HOST_NETWORK = "# Kubernetes-managed hosts file (host network).\n"
HOSTNAME_MAX = 63


def pod_hostname_and_domain(pod: ObjectView, cluster_domain: str) -> tuple[str, str]:
    """(hostname, domain) of a pod, as upstream's GeneratePodHostNameAndDomain."""
    spec = pod.get("spec") or {}
    hostname = str(spec.get("hostname") or pod["metadata"]["name"])
    if len(hostname) > HOSTNAME_MAX:
        hostname = hostname[:HOSTNAME_MAX].rstrip("-.")
    subdomain = spec.get("subdomain") or ""
    domain = f"{subdomain}.{pod['metadata']['namespace']}.svc.{cluster_domain}" if subdomain \
        else ""
    return hostname, domain


def host_alias_entries(aliases: Sequence[ObjectView]) -> str:
    if not aliases:
        return ""
    lines = ["", "# Entries added by HostAliases."]
    lines += [f"{alias.get('ip', '')}\t" + "\t".join(alias.get("hostnames") or [])
              for alias in aliases]
    return "\n".join(lines) + "\n"


def managed_hosts_file_content(pod_ips: Sequence[str], hostname: str, domain: str,
                               aliases: Sequence[ObjectView]) -> str:
    lines = list(LOCAL_ENTRIES)
    for ip in pod_ips:
        lines.append(f"{ip}\t{hostname}.{domain}\t{hostname}" if domain else f"{ip}\t{hostname}")
    return MANAGED_HEADER + "\n".join(lines) + "\n" + host_alias_entries(aliases)


def node_hosts_file_content(node_hosts: str, aliases: Sequence[ObjectView]) -> str:
    return MANAGED_HEADER_HOST_NETWORK + node_hosts + host_alias_entries(aliases)


def hosts_file_content(pod: ObjectView, pod_ips: Sequence[str], cluster_domain: str,
                       node_hosts: str) -> str:
    """The hosts file of `pod` (`ensureHostsFile`'s choice between the two forms)."""
    spec = pod.get("spec") or {}
    aliases = spec.get("hostAliases") or []
    if spec.get("hostNetwork"):
        return node_hosts_file_content(node_hosts, aliases)
    hostname, domain = pod_hostname_and_domain(pod, cluster_domain)
    return managed_hosts_file_content(pod_ips, hostname, domain, aliases)


def should_mount_hosts_file(container: ObjectView, pod_ips: Sequence[str]) -> bool:
    """Upstream mounts the file once the pod has IPs, unless the container mounts a volume
    at /etc/hosts itself."""
    return bool(pod_ips) and not any(m.get("mountPath") == ETC_HOSTS
                                     for m in container.get("volumeMounts") or [])


def hosts_mounts(pod: ObjectView, container: ObjectView, pod_dir: Path,
                 pod_ips: Sequence[str], cluster_domain: str,
                 node_hosts_path: Path = Path(ETC_HOSTS)) -> list[dict[str, Any]]:
    """Write `<pod dir>/etc-hosts` (mode 0644) and return its CRI mount (none when upstream
    would not mount it). The file is rewritten for every container start, as upstream."""
    if not should_mount_hosts_file(container, pod_ips):
        return []
    node_hosts = node_hosts_path.read_text() if (pod.get("spec") or {}).get("hostNetwork") \
        else ""
    path = pod_dir / "etc-hosts"
    pod_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(hosts_file_content(pod, pod_ips, cluster_domain, node_hosts))
    os.chmod(path, 0o644)
    return [{"containerPath": ETC_HOSTS, "hostPath": str(path), "readonly": False}]
