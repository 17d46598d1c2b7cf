"""nodelab's CNI plugins (one module each) and where their executables live.

CNI plugins are executables on a plugin path. nodelab's are thick (see `cni/server.py`): each
name in `nodelab/cni/bin/` (`bridge`, `host-local`, `loopback`, `portmap`) is a link to one
small C front (`cni/front.c`, built by `cni/front.py`), which hands the call to the node's CNI
daemon; the daemon runs the module here of that name (`HANDLERS`, through `cni/skel.py`).

The plugins use only the standard library and iproute2/iptables/nft commands.
"""

from __future__ import annotations

from pathlib import Path

PLUGINS = ("bridge", "host-local", "loopback", "portmap")


def plugin_dir() -> Path:
    """The directory of nodelab's plugin executables (put it first on the plugin path)."""
    return Path(__file__).resolve().parent.parent / "bin"
