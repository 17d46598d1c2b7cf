"""nodelab's CNI plugins (one module each) and where their executables live.

CNI plugins are executables on a plugin path, so nodelab ships one small POSIX shell wrapper per
plugin in `nodelab/cni/bin/` (`bridge`, `host-local`, `loopback`, `portmap`). Each wrapper runs
`nodelab/cni/launch.py <name>` (which runs `nodelab.cni.plugins.<name>` without importing the
top-level `nodelab` package, see there) with:

- the interpreter in `$NODELAB_PYTHON` (the invoker sets it to its own `sys.executable`, and
  anything nodelab starts, like containerd, inherits it), else /usr/bin/python3, else python3;
- `-S` (no site-packages): plugins need only the standard library, and skipping `site` saves
  ~20 ms of start-up per plugin process.

The plugins use only the standard library and iproute2/iptables/nft commands, never pyroute2:
importing pyroute2 costs ~120 ms per process (measured here: `python -X importtime -c
"from pyroute2 import IPRoute"`), paid by every plugin of every ADD and DEL, while an `ip`
command costs about 2 ms and `ip -batch` runs many changes in one.
"""

from __future__ import annotations

from pathlib import Path

PLUGINS = ("bridge", "host-local", "loopback", "portmap")


def plugin_dir() -> Path:
    """The directory of nodelab's plugin executables (put it first on the plugin path)."""
    return Path(__file__).resolve().parent.parent / "bin"
