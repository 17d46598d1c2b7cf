"""The entry point of nodelab's plugin executables: `python -S launch.py <plugin>`.

The wrappers in `bin/` run this file as a script, not `python -m nodelab.cni.plugins.<name>`,
because `-m` would import the top-level `nodelab` package first, and its `__init__` pulls in the
whole lab (and pyroute2): hundreds of milliseconds per plugin process, and a dependency on
site-packages. Here a bare package object stands in for `nodelab` (like a namespace package),
so a plugin imports only `nodelab.cni`, `nodelab.errors` and `nodelab.host.commands`, all
standard library only; `-S` then skips site-packages altogether.
"""

import os
import runpy
import sys
import types


def main() -> None:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.path[0] = root
    if "nodelab" not in sys.modules:
        package = types.ModuleType("nodelab")
        package.__path__ = [os.path.join(root, "nodelab")]
        sys.modules["nodelab"] = package
    if len(sys.argv) < 2:
        sys.exit("usage: launch.py PLUGIN (bridge, host-local, loopback or portmap)")
    plugin = sys.argv.pop(1).replace("-", "_")
    runpy.run_module(f"nodelab.cni.plugins.{plugin}", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
