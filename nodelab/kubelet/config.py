"""`KubeletConfig`: the kubelet's settings, upstream defaults, lab-configurable.

The fields and their YAML names follow upstream's `KubeletConfiguration`
(`kubelet.config.k8s.io/v1beta1`), so a learner can hold a real kubelet config file next to
nodelab's and compare. Every interval is a setting with the upstream default, so tests and
notebooks can shorten them (a 1 s status loop, a 2 s lease) without changing the code:

| field                              | upstream default | what it drives                       |
|------------------------------------|------------------|--------------------------------------|
| nodeStatusUpdateFrequency          | 10s              | how often status is computed          |
| nodeStatusReportFrequency          | 5m               | post at least this often, even unchanged |
| nodeLeaseDurationSeconds           | 40               | Lease spec.leaseDurationSeconds       |
| (renew interval)                   | 1/4 of duration  | how often the Lease is renewed        |
| evictionHard                       | see below        | hard eviction thresholds              |
| evictionPressureTransitionPeriod   | 5m               | how long a pressure condition stays True |
| evictionMonitoringPeriod           | 10s              | how often signals are measured        |
| maxPods                            | 110              | capacity `pods`                       |
| crashLoopBackOff.maxContainerRestartPeriod | 300s     | CrashLoopBackOff cap (short demos)    |
| clusterDNS                         | none             | pods' nameserver (ClusterFirst)       |
| clusterDomain                      | none (kubeadm: cluster.local) | pods' search list        |
| resolvConf                         | /etc/resolv.conf | base of the pods' DNS config          |
| containerLogMaxSize                | 10Mi             | a running log rotates past it        |
| containerLogMaxFiles               | 5                | files kept per container (live included) |
| containerLogMonitorInterval        | 10s              | how often logs are checked for rotation |

Default `evictionHard`: memory.available<100Mi, nodefs.available<10%,
imagefs.available<15%, nodefs.inodesFree<5%.

`cgroupRoot` (upstream `--cgroup-root`, default `/`) is where `kubepods/` goes; a lab points it
under `nodelab/<lab>/` when the runtime (containerd with cgroupfs) does not nest pod cgroups
itself. The pod workers (`pods/`) read it from here.

Who may use the kubelet server (port 10250) is upstream's `authentication` block
(`x509.clientCAFile`, `webhook.enabled` + `cacheTTL` 2m, `anonymous.enabled` false) and
`authorization` block (`mode` Webhook or AlwaysAllow, `webhook.cacheAuthorizedTTL` 5m and
`cacheUnauthorizedTTL` 30s), with the defaults of upstream's config file; `server/auth.py` acts
on them. Any other key in those blocks is refused.

Lab-only fields (not upstream) are marked so in `docs/kubelet.md`: `nodeLeaseRenewInterval`
and `registerRetryCap`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from nodelab.errors import NodelabError
from nodelab.kube.quantities import parse_quantity

DEFAULT_EVICTION_HARD = {
    "memory.available": "100Mi",
    "nodefs.available": "10%",
    "imagefs.available": "15%",
    "nodefs.inodesFree": "5%",
}

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str | int | float) -> float:
    """Seconds in a Go duration (`10s`, `5m`, `1h30m`, `500ms`); bare numbers are seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise NodelabError(f"invalid duration {text!r}: write e.g. 10s, 5m or 1h30m")
    return sum(float(number) * _UNIT[unit] for number, unit in parts)


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str

    @classmethod
    def parse(cls, text: str) -> Taint:
        """`key=value:Effect` or `key:Effect`, as the `--register-with-taints` flag takes."""
        head, sep, effect = text.rpartition(":")
        if not sep or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise NodelabError(f"invalid taint {text!r}: write key=value:NoSchedule")
        key, _, value = head.partition("=")
        return cls(key, value, effect)


@dataclass(frozen=True)
class KubeletConfig:
    """Every setting of one kubelet (upstream names in snake case)."""

    node_status_update_frequency: float = 10.0
    node_status_report_frequency: float = 300.0
    node_lease_duration_seconds: int = 40
    node_lease_renew_interval: float | None = None
    max_pods: int = 110
    port: int = 10250
    kube_reserved: dict[str, str] = field(default_factory=dict)
    system_reserved: dict[str, str] = field(default_factory=dict)
    eviction_hard: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_EVICTION_HARD))
    eviction_pressure_transition_period: float = 300.0
    eviction_monitoring_period: float = 10.0
    node_labels: dict[str, str] = field(default_factory=dict)
    register_with_taints: tuple[Taint, ...] = ()
    register_schedulable: bool = True
    register_retry_cap: float = 7.0
    cgroup_root: str = "/"
    cluster_dns: tuple[str, ...] = ()  # clusterDNS: the DNS Service's IPs pods resolve through
    cluster_domain: str = "cluster.local"
    resolv_conf: str = "/etc/resolv.conf"  # the node's resolver file (base of Default policy)
    crash_loop_back_off_max: float = 300.0  # crashLoopBackOff.maxContainerRestartPeriod
    allowed_unsafe_sysctls: tuple[str, ...] = ()
    tls_cert_file: str | None = None
    tls_private_key_file: str | None = None
    client_ca_file: str | None = None
    anonymous_auth: bool = False
    webhook_authentication: bool = True  # authentication.webhook.enabled: TokenReview
    webhook_authentication_cache_ttl: float = 120.0
    authorization_mode: str = "Webhook"  # or AlwaysAllow
    authorization_cache_authorized_ttl: float = 300.0
    authorization_cache_unauthorized_ttl: float = 30.0
    server_tls_bootstrap: bool = False
    container_log_max_size: int = 10 * 1024 * 1024
    container_log_max_files: int = 5
    container_log_monitor_interval: float = 10.0

    @property
    def lease_renew_interval(self) -> float:
        """Renew period: the setting, else a quarter of the lease duration (upstream's rule)."""
        if self.node_lease_renew_interval is not None:
            return self.node_lease_renew_interval
        return self.node_lease_duration_seconds * 0.25

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> KubeletConfig:
        """A config from a `KubeletConfiguration` document (camelCase keys, Go durations)."""
        known = {_camel(f.name): f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in doc.items():
            if key in ("apiVersion", "kind"):
                continue
            if key in ("authentication", "authorization"):
                values.update(_server_auth(key, raw or {}))
                continue
            if key == "crashLoopBackOff":
                period = (raw or {}).get("maxContainerRestartPeriod")
                if period is not None:
                    values["crash_loop_back_off_max"] = parse_duration(period)
                continue
            if key == "evictionHard":
                values["eviction_hard"] = {str(k): str(v) for k, v in (raw or {}).items()}
                continue
            name = known.get(key)
            if name is None:
                raise NodelabError(f"unknown kubelet config field {key!r}: see docs/kubelet.md")
            values[name] = _convert(name, raw)
        return cls(**values)

    @classmethod
    def load(cls, path: Path) -> KubeletConfig:
        try:
            doc = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise NodelabError(f"cannot read kubelet config {path}: {exc}") from exc
        if not isinstance(doc, dict):
            raise NodelabError(f"kubelet config {path} is not a mapping")
        return cls.from_document(doc)

    def with_changes(self, **changes: Any) -> KubeletConfig:
        return replace(self, **changes)


# (block, sub-block, key) -> (field, how to read it), for `authentication`/`authorization`
_SERVER_AUTH: dict[tuple[str, str, str], tuple[str, Any]] = {
    ("authentication", "x509", "clientCAFile"): ("client_ca_file", str),
    ("authentication", "anonymous", "enabled"): ("anonymous_auth", bool),
    ("authentication", "webhook", "enabled"): ("webhook_authentication", bool),
    ("authentication", "webhook", "cacheTTL"): ("webhook_authentication_cache_ttl",
                                                lambda v: parse_duration(v)),
    ("authorization", "", "mode"): ("authorization_mode", str),
    ("authorization", "webhook", "cacheAuthorizedTTL"): ("authorization_cache_authorized_ttl",
                                                         lambda v: parse_duration(v)),
    ("authorization", "webhook", "cacheUnauthorizedTTL"): (
        "authorization_cache_unauthorized_ttl", lambda v: parse_duration(v)),
}
AUTHORIZATION_MODES = ("Webhook", "AlwaysAllow")


def _server_auth(block: str, raw: Any) -> dict[str, Any]:
    """The fields of an `authentication` or `authorization` block; an unknown key is an
    error naming it (a setting that looks applied must be)."""
    if not isinstance(raw, dict):
        raise NodelabError(f"kubelet config {block}: must be a mapping")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        leaves = value.items() if isinstance(value, dict) else [("", value)]
        sub = key if isinstance(value, dict) else ""
        for leaf, leaf_value in leaves:
            known = _SERVER_AUTH.get((block, sub, leaf or key))
            if known is None:
                where = ".".join(p for p in (block, sub, leaf or key) if p)
                raise NodelabError(f"unknown kubelet config field {where!r}: see "
                                   "docs/kubelet.md")
            if leaf_value is not None and leaf_value != "":
                values[known[0]] = known[1](leaf_value)
    mode = values.get("authorization_mode")
    if mode is not None and mode not in AUTHORIZATION_MODES:
        raise NodelabError(f"kubelet config authorization.mode {mode!r}: nodelab's kubelet "
                           f"supports {' and '.join(AUTHORIZATION_MODES)}")
    return values


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    special = {"tls": "TLS", "ca": "CA", "dns": "DNS"}
    if name == "server_tls_bootstrap":
        return "serverTLSBootstrap"
    return head + "".join(special.get(part, part.capitalize()) for part in rest)


def _convert(name: str, raw: Any) -> Any:
    if name in ("node_status_update_frequency", "node_status_report_frequency",
                "eviction_pressure_transition_period", "eviction_monitoring_period",
                "node_lease_renew_interval", "register_retry_cap",
                "container_log_monitor_interval"):
        return parse_duration(raw)
    if name == "container_log_max_size":
        return parse_quantity(str(raw))
    if name == "container_log_max_files":
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 2:
            raise NodelabError(f"containerLogMaxFiles {raw!r}: must be an integer of at least 2")
        return raw
    if name in ("kube_reserved", "system_reserved", "node_labels"):
        return {str(k): str(v) for k, v in (raw or {}).items()}
    if name == "register_with_taints":
        taints = []
        for item in raw or []:
            if isinstance(item, str):
                taints.append(Taint.parse(item))
            else:
                taints.append(Taint(item["key"], item.get("value", ""), item["effect"]))
        return tuple(taints)
    if name in ("cluster_dns", "allowed_unsafe_sysctls"):
        return tuple(str(v) for v in raw or [])
    return raw


@dataclass(frozen=True)
class KubeletSettings:
    """What one kubelet process is told on its command line."""

    kubeconfig: Path
    cri_endpoint: str
    node_name: str
    node_ip: str
    state_dir: Path
    config: KubeletConfig = KubeletConfig()
    serve: bool = True
