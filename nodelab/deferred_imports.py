"""Third-party modules that cost much to import and are seldom used, imported at first use.

Every process that imports the official Kubernetes client (a notebook's kernel, a `nodelab`
command, a test worker; the node daemons do not, tests/test_daemon_imports.py) walks this
chain: `kubernetes` imports its dynamic client, which imports `kubernetes_validate`, which
imports `jsonschema`, whose format checks import `rfc3987_syntax` when it is installed
(JupyterLab's jupyter-events installs it). `rfc3987_syntax` builds about thirty Earley parsers
when imported: 0.9 s of CPU in each such process, for the "iri" and "iri-reference" checks
that nodelab never makes (python-jsonschema/jsonschema#1428; docs/performance.md, session 14).
When jsonschema takes the lazy fork `rfc3987-syntax2` (its PR #1521), this can go.

`defer` puts a stand-in module in `sys.modules`. The names a caller takes from the module at
import time (`from rfc3987_syntax import is_valid_syntax`) are small functions that import the
real module on their first call and hand the call on; any other attribute imports it at once.
The checks are there and give the real module's answers, only built when first used. What
differs: the stand-in is not the module object (a patch set on it does not reach the real
one), and it is made only when the module's own imports (`needs`) are installed, so that a
caller that skips the module on ImportError still does so at import time.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

# The module, the functions jsonschema takes from it at its import, and what it imports.
IRI_SYNTAX = ("rfc3987_syntax", ("is_valid_syntax",), ("lark",))

# Held across the real import: two threads' first calls must not both drop the stand-in.
_lock = threading.RLock()


class _StandIn(types.ModuleType):
    """Stands in `sys.modules` for a module not imported yet."""

    def __getattr__(self, attribute: str) -> Any:
        if attribute == "__path__":  # not a package (a package's is set): as the real module
            raise AttributeError(attribute)
        return getattr(_real(self.__name__), attribute)

    def __dir__(self) -> list[str]:
        return dir(_real(self.__name__))


def _real(name: str) -> types.ModuleType:
    """The real module `name`, imported now if only its stand-in is in `sys.modules`."""
    module = sys.modules.get(name)
    if module is not None and not isinstance(module, _StandIn):
        return module  # every call after the first
    with _lock:
        if isinstance(sys.modules.get(name), _StandIn):
            del sys.modules[name]
        real = importlib.import_module(name)
        # submodules imported through the stand-in's __path__ before the first use
        for full, submodule in list(sys.modules.items()):
            parent, _, child = full.rpartition(".")
            if parent == name and not hasattr(real, child):
                setattr(real, child, submodule)
        return real


def _forwarder(name: str, function: str) -> Callable[..., Any]:
    def forward(*args: Any, **kwargs: Any) -> Any:
        return getattr(_real(name), function)(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = function
    forward.__module__ = name
    return forward


def defer(name: str, functions: tuple[str, ...], needs: tuple[str, ...] = ()) -> bool:
    """Stand in for the top-level module `name` until first use; False if it is already
    imported, or it or one of `needs` is not installed (then nothing changes)."""
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)
    if spec is None or any(importlib.util.find_spec(need) is None for need in needs):
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
