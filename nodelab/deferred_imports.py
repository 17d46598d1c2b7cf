"""Third-party modules that cost much to import and are seldom used, imported at first use.

Every nodelab process that imports the official Kubernetes client (the kubelet, kube-proxy,
podnet, the controllers, `nodelab` commands, a notebook's kernel) walks this chain:
`kubernetes` imports its dynamic client, which imports `kubernetes_validate`, which imports
`jsonschema`, whose format checks import `rfc3987_syntax` when it is installed (JupyterLab's
jupyter-events installs it). `rfc3987_syntax` builds about thirty Earley parsers when imported:
about 0.9 s of CPU in each process, for an "iri" format check that nodelab never makes
(python-jsonschema/jsonschema#1428; docs/performance.md, session 14).

`defer` puts a stand-in module in `sys.modules`. The names a caller takes from the module at
import time (`from rfc3987_syntax import is_valid_syntax`) are small functions that import the
real module on their first call and hand the call on; any other attribute imports it at once.
So nothing behaves differently: the check is there and exact, it is only built when first used.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

# The module and the functions jsonschema takes from it when jsonschema is imported.
IRI_SYNTAX = ("rfc3987_syntax", ("is_valid_syntax",))

_lock = threading.RLock()


class _StandIn(types.ModuleType):
    """Stands in `sys.modules` for a module not imported yet."""

    def __getattr__(self, attribute: str) -> Any:
        return getattr(_real(self.__name__), attribute)


def _real(name: str) -> types.ModuleType:
    """The real module `name`, imported now if only its stand-in is in `sys.modules`."""
    with _lock:
        if isinstance(sys.modules.get(name), _StandIn):
            del sys.modules[name]
        return importlib.import_module(name)


def _forwarder(name: str, function: str) -> Callable[..., Any]:
    def forward(*args: Any, **kwargs: Any) -> Any:
        return getattr(_real(name), function)(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = function
    return forward


def defer(name: str, functions: tuple[str, ...]) -> bool:
    """Stand in for the top-level module `name` until first use; False if it is already
    imported or not installed (then nothing changes)."""
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)
    if spec is None:
        return False
    stand_in = _StandIn(name)
    # What the import system and `inspect.getmodule` read, answered without importing the
    # module (`from package import name` looks up the package's `__path__` first).
    stand_in.__spec__ = spec
    stand_in.__file__ = spec.origin
    if spec.submodule_search_locations is not None:
        stand_in.__path__ = list(spec.submodule_search_locations)
    for function in functions:
        setattr(stand_in, function, _forwarder(name, function))
    sys.modules[name] = stand_in
    return True
