"""A notebook's closing Checks, honest about what could not be checked on this host.

`Checks(live=lab is not None)`: `checks.plan(what, ok)` checks something every host computes
(a plan, a pure decision, the loopback API server); `checks.live(what, ok)` checks the live lab
and takes a callable, evaluated only where a lab is up (its names exist only there).
`checks.report()` prints, for example, `all checks passed: 4 plan checks passed; 9 live checks
skipped (need a lab)`, so a learner on Binder sees how much was really verified.

A failing check raises `AssertionError` naming what did not happen, like a bare `assert`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Checks:
    live_lab: bool
    plan_passed: list[str] = field(default_factory=list)
    live_passed: list[str] = field(default_factory=list)
    live_skipped: list[str] = field(default_factory=list)

    def plan(self, what: str, ok: object) -> None:
        """A check every host can make; `ok` is the value (or a callable returning it)."""
        value = ok() if callable(ok) else ok
        if not value:
            raise AssertionError(f"check failed: {what}")
        self.plan_passed.append(what)

    def live(self, what: str, ok: Callable[[], object]) -> None:
        """A check of the live lab: made only where one is up, counted as skipped elsewhere."""
        if not self.live_lab:
            self.live_skipped.append(what)
            return
        if not ok():
            raise AssertionError(f"check failed: {what}")
        self.live_passed.append(what)

    def summary(self) -> str:
        parts = [f"{len(self.plan_passed)} plan checks passed"]
        if self.live_lab:
            parts.append(f"{len(self.live_passed)} live checks passed")
        else:
            parts.append(f"{len(self.live_skipped)} live checks skipped (need a lab)")
        return "all checks passed: " + "; ".join(parts)

    def report(self) -> None:
        """Print the summary (the notebook's last line)."""
        print(self.summary())
