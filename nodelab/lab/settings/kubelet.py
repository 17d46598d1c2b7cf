"""The lab's kubelet settings: a `KubeletConfiguration` fragment every node's kubelet gets.

`Lab.up(..., kubelet_config={...})` (`nodelab up --kubelet-config FILE`) and, on a running lab,
`lab.set_kubelet_config({...})` (what a kubeadm user does by editing each node's
/var/lib/kubelet/config.yaml and restarting the kubelet) take upstream's `KubeletConfiguration`
fields, camelCase as in the file, e.g.

    {"evictionHard": {"memory.available": "2Gi"}, "evictionPressureTransitionPeriod": "30s"}

The fragment is checked as the kubelet will read it (`KubeletConfig.from_document`: an unknown
field or a bad value is an error naming it; the eviction thresholds are parsed too) and written
after the lines the lab writes itself. As upstream, `evictionHard` replaces the default
thresholds as a whole: a signal left out has none. The fields the lab sets itself are refused
by name (`LAB_OWNED`), so nothing given here is silently overridden.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from nodelab.errors import NodelabError
from nodelab.kubelet.config import KubeletConfig
from nodelab.kubelet.eviction.thresholds import parse_thresholds

KubeletConfigFragment = dict[str, Any]

# field -> why the lab keeps it
LAB_OWNED = {
    "cgroupRoot": "the lab nests each node's pods under its own cgroup",
    "clusterDNS": "the lab's cluster DNS Service",
    "clusterDomain": "the lab's cluster DNS domain",
    "crashLoopBackOff": "the lab's own setting, max_restart_backoff (--max-restart-backoff)",
    "port": "the lab reaches every kubelet on 10250",
    "tlsCertFile": "the lab's CA issues the kubelets' serving certificates",
    "tlsPrivateKeyFile": "the lab's CA issues the kubelets' serving certificates",
    "clientCAFile": "the lab's CA",
    "serverTLSBootstrap": "set by join mode",
    "authentication": "the lab's kubelets authenticate with the lab's CA and TokenReview",
    "authorization": "the lab's kubelets authorize with SubjectAccessReview",
}


def check_kubelet_config(fragment: Mapping[str, Any] | None) -> KubeletConfigFragment | None:
    """The fragment as plain data, or a NodelabError naming what the kubelet would refuse."""
    if fragment is None:
        return None
    if not isinstance(fragment, Mapping):
        raise NodelabError(f"kubelet config: a mapping of KubeletConfiguration fields is "
                           f"needed, not {type(fragment).__name__}")
    fields = {str(k): v for k, v in fragment.items() if k not in ("apiVersion", "kind")}
    kind = fragment.get("kind", "KubeletConfiguration")
    if kind != "KubeletConfiguration":
        raise NodelabError(f"kubelet config: kind {kind!r} is not KubeletConfiguration")
    for key in fields:
        if key in LAB_OWNED:
            raise NodelabError(f"kubelet config field {key!r} is the lab's to set "
                               f"({LAB_OWNED[key]}): leave it out")
    config = KubeletConfig.from_document(fields)
    parse_thresholds(config.eviction_hard)
    try:
        plain: KubeletConfigFragment = json.loads(json.dumps(fields))
    except (TypeError, ValueError) as exc:
        raise NodelabError(f"kubelet config: values must be plain YAML data: {exc}") from exc
    return plain


def load_kubelet_config(path: Path) -> KubeletConfigFragment:
    """A fragment from a YAML file (a whole `KubeletConfiguration` document is fine)."""
    try:
        document = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise NodelabError(f"cannot read kubelet config {path}: {exc}") from exc
    checked = check_kubelet_config(document)
    return checked or {}


def kubelet_config_lines(fragment: Mapping[str, Any] | None) -> str:
    """The fragment's lines for the node's config file ("" when there is none)."""
    if not fragment:
        return ""
    return str(yaml.safe_dump(dict(fragment), default_flow_style=False, sort_keys=False))


def same_kubelet_config(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    return dict(a or {}) == dict(b or {})
