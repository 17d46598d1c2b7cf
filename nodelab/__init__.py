"""nodelab: learn how a Kubernetes worker node really works by running one.

The public face is small:

- `Lab`: bring a lab up (`Lab.up(name, nodes)`, quiet unless given `progress=`; also a
  context manager), attach to one (`Lab.get(name)`), look at it (`lab.status()`,
  `lab.topology`, `lab.kubeconfig`, `lab.images`), script it (`lab.api()`, an official-client
  ApiClient; `lab.apply(manifest)`; `lab.wait_for(kind, name, condition)`; `lab.node(name)`
  with `.exec(argv)`, `.cri()` and `.logs(daemon)`) and take it down (`lab.down()`);
  docs/api.md has an example of each.
- `doctor()`: what this host can do for a lab, as a list of findings.

Everything else lives in the component packages (`host`, `oci`, `cni`, `runtime`, `kube`,
`kubelet`, `proxy`, `controlplane`, `podnet`, `lab`, `widgets`); see docs/architecture.md.
The names are imported on first use (PEP 562), so the node daemons, which import only their
own component, do not pay for the lab harness at start-up. For the same reason a few costly
third-party modules are imported at their first use (`nodelab.deferred_imports`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nodelab.deferred_imports import IRI_SYNTAX, defer

defer(*IRI_SYNTAX)

if TYPE_CHECKING:
    from nodelab.errors import NodelabError
    from nodelab.host.doctor import Finding, lab_ready
    from nodelab.host.doctor import render as render_doctor
    from nodelab.lab.lab import Lab, known_labs

__version__ = "0.1.0"

_EXPORTS = {
    "NodelabError": ("nodelab.errors", "NodelabError"),
    "Finding": ("nodelab.host.doctor", "Finding"),
    "lab_ready": ("nodelab.host.doctor", "lab_ready"),
    "render_doctor": ("nodelab.host.doctor", "render"),
    "Lab": ("nodelab.lab.lab", "Lab"),
    "known_labs": ("nodelab.lab.lab", "known_labs"),
}


def doctor() -> list[Finding]:
    """Probe this host; each finding says what a missing capability disables and the fix."""
    from nodelab.host.doctor import diagnose

    return diagnose()


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'nodelab' has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    return getattr(importlib.import_module(module), attribute)


__all__ = [
    "Finding",
    "Lab",
    "NodelabError",
    "__version__",
    "doctor",
    "known_labs",
    "lab_ready",
    "render_doctor",
]
