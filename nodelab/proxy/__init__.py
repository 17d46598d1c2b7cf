"""kube-proxy: Service DNAT in iptables and nftables modes.

The public face. Everything is plan-then-apply:

- input: `Service`, `EndpointSlice`, `ProxyState`, `ProxyNode` (`model`), built from API
  objects by `service_from_k8s` / `endpoint_slice_from_k8s` (or the `*_from_dict` twins);
- plans (pure): `render_iptables(state, node, previous) -> IptablesPlan` (an
  `iptables-restore --noflush` payload with upstream's chains and hashes) and
  `render_nftables(state, node, previous) -> NftPlan` (an nft transaction on `ip kube-proxy`);
  with `previous`, a partial sync; `render_ipvs(state, node, node_addresses) -> IpvsPlan`
  (IPVS mode's virtual and real servers, kube-ipvs0's addresses, ipsets and fixed iptables
  rules), rendered only (no ip_vs in the kernels nodelab runs on; `show_ipvs` prints it);
- apply: `Proxier` (sync, partial/full, mode switch, UDP conntrack cleanup, `ProxyMetrics`);
  `run_proxy` is the list+watch loop (through nodelab.kube.restclient, not the official
  client); `python -m nodelab.proxy` the per-node process.

Each mode is a sub-package holding its plan and applier: `iptables/`, `nftables/`, `ipvs/`.
"""

from nodelab.proxy.chain_names import (
    endpoint_chain,
    nft_endpoint_base,
    nft_service_base,
    service_chain,
)
from nodelab.proxy.iptables.plan import IptablesPlan, render_iptables
from nodelab.proxy.ipvs.plan import IpvsPlan, render_ipvs
from nodelab.proxy.ipvs.show import show_ipvs
from nodelab.proxy.metrics import ProxyMetrics, SyncRecord, read_metrics
from nodelab.proxy.model import (
    EndpointSlice,
    ProxyNode,
    ProxyState,
    Service,
    ServicePortSpec,
    SliceEndpoint,
    SlicePort,
)
from nodelab.proxy.nftables.plan import NftPlan, render_nftables
from nodelab.proxy.objects import (
    endpoint_slice_from_dict,
    endpoint_slice_from_k8s,
    service_from_dict,
    service_from_k8s,
)
from nodelab.proxy.proxier import MODES, Proxier, remove_mode_rules, render_plan
from nodelab.proxy.servicemap import ServicePortName

__all__ = [
    "MODES",
    "EndpointSlice",
    "IptablesPlan",
    "IpvsPlan",
    "NftPlan",
    "ProxyMetrics",
    "ProxyNode",
    "ProxyState",
    "Proxier",
    "Service",
    "ServicePortName",
    "ServicePortSpec",
    "SliceEndpoint",
    "SlicePort",
    "SyncRecord",
    "endpoint_chain",
    "endpoint_slice_from_dict",
    "endpoint_slice_from_k8s",
    "nft_endpoint_base",
    "nft_service_base",
    "read_metrics",
    "remove_mode_rules",
    "render_iptables",
    "render_ipvs",
    "render_nftables",
    "render_plan",
    "service_chain",
    "service_from_dict",
    "service_from_k8s",
    "show_ipvs",
]
