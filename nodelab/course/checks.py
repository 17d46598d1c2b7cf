"""A notebook's closing Checks, honest about what could not be checked on this host.

`Checks(live=lab is not None)`: `checks.plan(what, ok)` checks something every host computes
(a plan, a pure decision, the loopback API server); `checks.live(what, ok)` checks the live lab
and takes a callable, evaluated only where a lab is up (its names exist only there).
`checks.report()` prints, for example, `all checks passed: 4 plan checks passed; 9 live checks
skipped (need a lab)`, so a learner on Binder sees how much was really verified.

A check of an optional section names it: `checks.live(what, ok, optional="Ready -> Unknown")`
(a part of that section's heading). Its `ok` is a callable, for a learner may have skipped the
section: when `ok` needs a name that section defines and the name is not defined (NameError),
the check is counted as skipped and `report()` prints a line saying so, with the section and
the missing name, instead of a traceback that stops the cell before the other checks. A check
without `optional` needs what it reads: a NameError there still stops the cell.

A failing check raises `AssertionError` naming what did not happen, like a bare `assert`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# in the summary when a learner skipped an optional section (a test's full run must not say it)
NOT_RUN = "optional sections not run"


@dataclass(frozen=True)
class Skipped:
    """A check of an optional section the learner did not run."""

    what: str
    section: str
    missing: str  # the name the section defines, not defined here

    def __str__(self) -> str:
        return (f"skipped: {self.what} (optional section {self.section!r} not run: "
                f"`{self.missing}` is not defined)")


@dataclass
class Checks:
    live_lab: bool
    plan_passed: list[str] = field(default_factory=list)
    live_passed: list[str] = field(default_factory=list)
    live_skipped: list[str] = field(default_factory=list)
    optional_skipped: list[Skipped] = field(default_factory=list)

    def plan(self, what: str, ok: object, optional: str = "") -> None:
        """A check every host can make; `ok` is the value (or a callable returning it).

        `optional`: the section whose names `ok` reads; `ok` must then be a callable."""
        if optional and not callable(ok):
            raise TypeError(f"the optional check {what!r} needs a callable (lambda: ...): "
                            "a value is computed before the check could skip it")
        if self._passed(what, ok, optional):
            self.plan_passed.append(what)

    def live(self, what: str, ok: Callable[[], object], optional: str = "") -> None:
        """A check of the live lab: made only where one is up, counted as skipped elsewhere."""
        if not self.live_lab:
            self.live_skipped.append(what)
            return
        if self._passed(what, ok, optional):
            self.live_passed.append(what)

    def _passed(self, what: str, ok: object, optional: str) -> bool:
        """True when the check passed; False when its optional section was not run."""
        try:
            value = ok() if callable(ok) else ok
        except NameError as error:
            if not optional:
                raise
            self.optional_skipped.append(Skipped(what, optional, error.name or str(error)))
            return False
        if not value:
            raise AssertionError(f"check failed: {what}")
        return True

    def summary(self) -> str:
        parts = [f"{len(self.plan_passed)} plan checks passed"]
        if self.live_lab:
            parts.append(f"{len(self.live_passed)} live checks passed")
        else:
            parts.append(f"{len(self.live_skipped)} live checks skipped (need a lab)")
        if self.optional_skipped:
            sections = dict.fromkeys(s.section for s in self.optional_skipped)
            parts.append(f"{len(self.optional_skipped)} checks skipped ({NOT_RUN}: "
                         f"{'; '.join(sections)})")
        return "all checks passed: " + "; ".join(parts)

    def report(self) -> None:
        """Print each skipped optional check, then the summary (the notebook's last line)."""
        for skipped in self.optional_skipped:
            print(skipped)
        print(self.summary())
