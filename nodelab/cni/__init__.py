"""CNI: spec 1.1 plugins (bridge, host-local, loopback, portmap) and a libcni-style invoker.

The runtime configures pod networking only through the CNI spec: it loads a conflist
(`load_conflist`) and calls a `CNIInvoker`, which execs plugins found on a plugin path. nodelab's
own plugins live in `plugin_dir()` and are ordinary executables, so the reference plugins from
/usr/lib/cni (or /opt/cni/bin) can stand in for them, and containerd can call them. They are
thick plugins: each executable is a small front that hands the call to the node's CNI daemon
(`server`, run by podnet), which runs the plugin code.

Layout: `config` (conflists), `result` (the result model and its validation), `version`,
`errors` (CNIError and the spec codes), `cache` (libcni's result cache), `plugin_exec` and
`invoker` (the caller side), `calls` (a verb's plugin calls as a plan), `skel` (the plugin side
of the calling convention), `ipam/` (host-local's allocator and store), `links` (iproute2 plans
for bridge and veth), `masquerade`, `portmap_rules` (iptables and nft plans), `plugins/` (one
module per plugin), `bin/` (the executables: links to the front), `front` (the front's C source
and its build), `server` (the daemon side of the thick plugins).

The names below are imported lazily (PEP 562): a runtime that only invokes plugins does not
load the plugins' own code, and the reverse.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nodelab.cni.calls import PluginCall, plan_calls
    from nodelab.cni.config import (
        NetworkConfigList,
        PluginConfig,
        default_conflist,
        load_conflist,
        parse_conflist,
    )
    from nodelab.cni.errors import CNIError
    from nodelab.cni.invoker import CNIInvoker, default_plugin_path
    from nodelab.cni.plugins import plugin_dir
    from nodelab.cni.result import Interface, IPConfig, Result, Route

_EXPORTS = {
    "PluginCall": "calls",
    "plan_calls": "calls",
    "NetworkConfigList": "config",
    "default_conflist": "config",
    "PluginConfig": "config",
    "load_conflist": "config",
    "parse_conflist": "config",
    "CNIError": "errors",
    "CNIInvoker": "invoker",
    "default_plugin_path": "invoker",
    "plugin_dir": "plugins",
    "Interface": "result",
    "IPConfig": "result",
    "Result": "result",
    "Route": "result",
}


def __getattr__(name: str) -> Any:
    """Import the public names on first use: plugin processes import only what they need."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nodelab.cni' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"nodelab.cni.{module}"), name)


__all__ = [
    "CNIError",
    "CNIInvoker",
    "IPConfig",
    "Interface",
    "NetworkConfigList",
    "PluginCall",
    "PluginConfig",
    "Result",
    "Route",
    "default_conflist",
    "default_plugin_path",
    "load_conflist",
    "parse_conflist",
    "plan_calls",
    "plugin_dir",
]
