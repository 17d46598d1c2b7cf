"""CNI: spec 1.1 plugins (bridge, host-local, loopback, portmap) and a libcni-style invoker.

The runtime configures pod networking only through the CNI spec: it loads a conflist
(`load_conflist`) and calls a `CNIInvoker`, which execs plugins found on a plugin path. nodelab's
own plugins live in `plugin_dir()` and are ordinary executables, so the reference plugins from
/usr/lib/cni (or /opt/cni/bin) can stand in for them, and containerd can call them.

Layout: `config` (conflists), `result` (the result model and its validation), `version`,
`errors` (CNIError and the spec codes), `cache` (libcni's result cache), `plugin_exec` and
`invoker` (the caller side), `skel` (the plugin side of the calling convention), `ipam/`
(host-local's allocator and store), `netlink/`-free `links` (iproute2 plans for bridge and veth),
`portmap_rules` (iptables and nft plans), `plugins/` (one module per plugin), `bin/` (the
executables).

This package must stay importable with the standard library alone: every plugin process imports
it (see `plugin_dir.py`).
"""

from nodelab.cni.config import NetworkConfigList, PluginConfig, load_conflist, parse_conflist
from nodelab.cni.errors import CNIError
from nodelab.cni.invoker import CNIInvoker, default_plugin_path
from nodelab.cni.plugin_dir import plugin_dir
from nodelab.cni.result import Interface, IPConfig, Result, Route

__all__ = [
    "CNIError",
    "CNIInvoker",
    "IPConfig",
    "Interface",
    "NetworkConfigList",
    "PluginConfig",
    "Result",
    "Route",
    "default_plugin_path",
    "load_conflist",
    "parse_conflist",
    "plugin_dir",
]
