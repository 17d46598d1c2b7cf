"""nodelab: learn how a Kubernetes worker node really works by running one.

The public face is small:

- `Lab`: bring a lab up (`Lab.up(name, nodes)`, also a context manager), attach to one
  (`Lab.get(name)`), look at it (`lab.status()`, `lab.topology`, `lab.kubeconfig`,
  `lab.images`) and take it down (`lab.down()`).
- `doctor()`: what this host can do for a lab, as a list of findings.

Everything else lives in the component packages (`host`, `oci`, `cni`, `runtime`, `kubelet`,
`proxy`, `controlplane`, `lab`, `widgets`); see docs/architecture.md.
"""

from __future__ import annotations

from nodelab.errors import NodelabError
from nodelab.host.doctor import Finding, diagnose, lab_ready
from nodelab.host.doctor import render as render_doctor
from nodelab.lab.lab import Lab, known_labs

__version__ = "0.1.0"


def doctor() -> list[Finding]:
    """Probe this host; each finding says what a missing capability disables and the fix."""
    return diagnose()


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
