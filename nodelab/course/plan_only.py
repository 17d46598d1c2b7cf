"""Plans shown instead of applied on a host without privileges (Binder, an ordinary user).

Every step that changes the kernel (netns, links, rules, cgroups, runc) is computed as a plan
by its component first. On a host where it cannot be applied, the notebook prints that plan
under a `PLAN ONLY (not applied)` banner, so the learner still sees exactly what would happen
and the notebook runs to its end.

`NODELAB_PLAN_ONLY=1` in the environment forces this mode as root too: the test suite uses it
to run every notebook's plan-only path on a machine where it could apply, and an instructor can
use it to show the plans on purpose.
"""

from __future__ import annotations

import json
import os
from typing import Any

PLAN_ONLY = "PLAN ONLY (not applied)"
FORCE_PLAN_ONLY = "NODELAB_PLAN_ONLY"


def _forced() -> bool:
    return os.environ.get(FORCE_PLAN_ONLY, "") not in ("", "0")


def can_apply() -> bool:
    """True when this process may change the kernel (root, and plan-only mode not forced)."""
    return os.geteuid() == 0 and not _forced()


def describe_privileges() -> str:
    """One line for a notebook's first cell: whom the kernel runs as, and what that means."""
    euid = os.geteuid()
    if can_apply():
        return f"kernel euid {euid}: this host can run a lab"
    why = f"{FORCE_PLAN_ONLY} is set" if _forced() else "not root"
    return f"kernel euid {euid} ({why}): no privileges here, the privileged steps show their plans"


def show_plan(title: str, plan: Any) -> str:
    """Print a plan (text, or JSON-able data) under the PLAN ONLY banner; return the text."""
    body = plan if isinstance(plan, str) else json.dumps(plan, indent=2, default=str)
    text = f"== {PLAN_ONLY}: {title} ==\n{body}"
    print(text)
    return text
