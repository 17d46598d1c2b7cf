"""Plans shown instead of applied on a host without privileges (Binder, an ordinary user).

Every step that changes the kernel (netns, links, rules, cgroups, runc) is computed as a plan
by its component first. On a host where it cannot be applied, the notebook prints that plan
under a `PLAN ONLY (not applied)` banner, so the learner still sees exactly what would happen
and the notebook runs to its end.

`NODELAB_PLAN_ONLY=1` in the environment forces this mode as root too: the test suite uses it
to run every notebook's plan-only path on a machine where it could apply, and an instructor can
use it to show the plans on purpose.

A notebook names itself to `describe_privileges("01-node-registration")`; in plan-only mode
that line and every plan after it point at the notebook's reference outputs, a root run
published as HTML under `docs/reference/` (`reference.py`), to see what the plans did there.
"""

from __future__ import annotations

import json
import os
from typing import Any

PLAN_ONLY = "PLAN ONLY (not applied)"
FORCE_PLAN_ONLY = "NODELAB_PLAN_ONLY"
REFERENCE_DIR = "docs/reference"  # in the repository: NN-topic.html per notebook

_reference: list[str] = []  # the running notebook's reference page, once it named itself


def reference_page(notebook: str) -> str:
    """Where a notebook's reference outputs (a root run, as HTML) are, from the repository root."""
    return f"{REFERENCE_DIR}/{notebook}.html"


def _forced() -> bool:
    return os.environ.get(FORCE_PLAN_ONLY, "") not in ("", "0")


def can_apply() -> bool:
    """True when this process may change the kernel (root, and plan-only mode not forced)."""
    return os.geteuid() == 0 and not _forced()


def describe_privileges(notebook: str | None = None) -> str:
    """For a notebook's first cell: whom the kernel runs as, and what that means; in plan-only
    mode, with `notebook` (its file name without `.ipynb`), where its reference outputs are."""
    euid = os.geteuid()
    _reference[:] = [reference_page(notebook)] if notebook else []
    if can_apply():
        return f"kernel euid {euid}: this host can run a lab"
    why = f"{FORCE_PLAN_ONLY} is set" if _forced() else "not root"
    line = f"kernel euid {euid} ({why}): no privileges here, the privileged steps show their plans"
    if _reference:
        line += f"\nwhat they do on a root run: {_reference[0]} (this notebook's reference outputs)"
    return line


def show_plan(title: str, plan: Any) -> str:
    """Print a plan (text, or JSON-able data) under the PLAN ONLY banner; return the text."""
    body = plan if isinstance(plan, str) else json.dumps(plan, indent=2, default=str)
    applied = f" (applied on a root run: {_reference[0]})" if _reference else ""
    text = f"== {PLAN_ONLY}: {title}{applied} ==\n{body}"
    print(text)
    return text
