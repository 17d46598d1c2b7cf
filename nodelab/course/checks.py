"""A notebook's closing Checks, honest about what could not be checked on this host.

`Checks(live=lab is not None)`: `checks.plan(what, ok)` checks something every host computes
(a plan, a pure decision, the loopback API server); `checks.live(what, ok)` checks the live lab
and takes a callable, evaluated only where a lab is up (its names exist only there).
`checks.report()` prints, for example, `all checks passed: 4 plan checks passed; 9 live checks
skipped (need a lab)`, so a learner on Binder sees how much was really verified.

A check of an optional section names it: `checks.live(what, ok, optional="Ready -> Unknown")`
(a part of that section's heading). Its `ok` is a callable, for a learner may have skipped the
section: when `ok` itself reads a global name that is not defined (a NameError raised in the
lambda's own code, not in a function it calls), the check is counted as skipped and `report()`
prints a line saying so, with the section and the missing name, instead of a traceback that
stops the cell before the other checks. A check without `optional` needs what it reads: a
NameError there still stops the cell.

A failing check raises `AssertionError` naming what did not happen, like a bare `assert`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import CodeType

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


def _codes(code: CodeType) -> Iterator[CodeType]:
    """`code` and the code nested in it (a generator expression or comprehension's)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _codes(const)


def missing_name(ok: object, error: BaseException) -> str | None:
    """The global name `ok` reads that `error` says is not defined, or None when `error` is
    anything else: raised in a function `ok` called (a bug there, not a skipped section), an
    UnboundLocalError, or not a NameError at all."""
    code = getattr(ok, "__code__", None)
    if type(error) is not NameError or not isinstance(code, CodeType) or error.name is None:
        return None
    own = list(_codes(code))
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    if traceback is None or traceback.tb_frame.f_code not in own:
        return None
    return error.name if any(error.name in c.co_names for c in own) else None


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
            missing = missing_name(ok, error) if optional else None
            if missing is None:
                raise
            self.optional_skipped.append(Skipped(what, optional, missing))
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
