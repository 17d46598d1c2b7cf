"""The closing Checks: plan checks always, live checks only with a lab, and an honest tally."""

from __future__ import annotations

import pytest

from nodelab.course.checks import Checks

pytestmark = pytest.mark.unit


def test_without_a_lab_live_checks_are_counted_as_skipped_never_called() -> None:
    checks = Checks(live_lab=False)
    checks.plan("a plan", True)
    checks.plan("a computed plan", lambda: 1)
    checks.live("a pod answered", lambda: 1 / 0)  # never evaluated: its names exist only live
    assert checks.summary() == ("all checks passed: 2 plan checks passed; "
                               "1 live checks skipped (need a lab)")


def test_with_a_lab_live_checks_run() -> None:
    checks = Checks(live_lab=True)
    checks.plan("a plan", True)
    checks.live("a pod answered", lambda: "hello")
    assert checks.summary() == "all checks passed: 1 plan checks passed; 1 live checks passed"


@pytest.mark.parametrize("live_lab", [True, False])
def test_a_failing_check_names_what_did_not_happen(live_lab: bool) -> None:
    checks = Checks(live_lab=live_lab)
    with pytest.raises(AssertionError, match="check failed: reservations shrink allocatable"):
        checks.plan("reservations shrink allocatable", False)
    if live_lab:
        with pytest.raises(AssertionError, match="check failed: the lease was renewed"):
            checks.live("the lease was renewed", lambda: None)


# the names the required sections define
REQUIRED: dict[str, object] = {"renewed": "12:00:10", "first_renew": "12:00:00"}

# a Checks cell's last checks, reading names that two optional sections define
CELL = """
checks.plan("a plan", True)
checks.plan("the eviction ranking", lambda: ranking == ["bystander"], optional="Memory pressure")
checks.live("node1 turned Unknown", lambda: unknown_node["kind"] == "Node",
            optional="Ready -> Unknown")
checks.live("the lease was renewed", lambda: renewed != first_renew)
checks.report()
"""


def _run_cell(cell: str, checks: Checks, defined: dict[str, object]) -> None:
    """Run `cell` as the notebook's kernel does, with only the names `defined` run before it."""
    exec(compile(cell, "<checks cell>", "exec"), {"checks": checks, **defined})


@pytest.mark.parametrize(("live_lab", "defined", "summary", "printed"), [
    (True, {**REQUIRED, "ranking": ["bystander"], "unknown_node": {"kind": "Node"}},
     "all checks passed: 2 plan checks passed; 2 live checks passed", []),
    (True, {**REQUIRED, "ranking": ["bystander"]},
     "all checks passed: 2 plan checks passed; 1 live checks passed; "
     "1 checks skipped (optional sections not run: Ready -> Unknown)",
     ["skipped: node1 turned Unknown (optional section 'Ready -> Unknown' not run: "
      "`unknown_node` is not defined)"]),
    (True, REQUIRED,
     "all checks passed: 1 plan checks passed; 1 live checks passed; "
     "2 checks skipped (optional sections not run: Memory pressure; Ready -> Unknown)",
     ["skipped: the eviction ranking (optional section 'Memory pressure' not run: "
      "`ranking` is not defined)",
      "skipped: node1 turned Unknown (optional section 'Ready -> Unknown' not run: "
      "`unknown_node` is not defined)"]),
    (False, REQUIRED,  # without a lab a live check is not evaluated: skipped for that
     "all checks passed: 1 plan checks passed; 2 live checks skipped (need a lab); "
     "1 checks skipped (optional sections not run: Memory pressure)",
     ["skipped: the eviction ranking (optional section 'Memory pressure' not run: "
      "`ranking` is not defined)"]),
], ids=["all-run", "one-section-skipped", "two-sections-skipped", "no-lab"])
def test_a_check_of_a_skipped_optional_section_is_reported_skipped_with_its_section(
        live_lab: bool, defined: dict[str, object], summary: str, printed: list[str],
        capsys: pytest.CaptureFixture[str]) -> None:
    _run_cell(CELL, Checks(live_lab=live_lab), defined)
    assert capsys.readouterr().out.splitlines() == [*printed, summary]


def test_a_required_check_whose_names_are_missing_still_fails_loudly() -> None:
    with pytest.raises(NameError, match="renewed"):
        _run_cell(CELL, Checks(live_lab=True), {"ranking": ["bystander"],
                                                 "unknown_node": {"kind": "Node"}})


def test_an_optional_check_that_ran_and_failed_still_fails() -> None:
    with pytest.raises(AssertionError, match="check failed: the eviction ranking"):
        _run_cell(CELL, Checks(live_lab=True), {**REQUIRED, "ranking": ["hog"]})
    with pytest.raises(AssertionError, match="check failed: node1 turned Unknown"):
        _run_cell(CELL, Checks(live_lab=True), {**REQUIRED, "unknown_node": {"kind": "Pod"}})


def test_an_optional_check_takes_a_callable() -> None:
    """A value was computed before `plan` was called: a NameError there could not be skipped."""
    with pytest.raises(TypeError, match="needs a callable"):
        Checks(live_lab=True).plan("the eviction ranking", True, optional="Memory pressure")


def _helper_with_a_bug() -> object:
    return undefined_helper_name  # type: ignore[name-defined]  # noqa: F821


def _unbound() -> object:
    if not _unbound:
        late = True
    return late


@pytest.mark.parametrize("ok, raised", [
    (lambda: _helper_with_a_bug(), "undefined_helper_name"),  # a bug in what the check calls
    (lambda: _unbound(), "late"),  # an UnboundLocalError, a NameError of another kind
], ids=["in-a-called-function", "unbound-local"])
def test_an_optional_check_skips_only_a_name_it_reads_itself(ok: object, raised: str) -> None:
    """Only a global the check's own lambda reads, not defined, means its section was not run:
    a NameError from deeper down is a bug, and it stops the cell as any other error."""
    with pytest.raises(NameError, match=raised):
        Checks(live_lab=True).live("a check", ok, optional="Memory pressure")  # type: ignore[arg-type]


def test_an_optional_check_skips_a_name_read_in_its_own_generator() -> None:
    checks = Checks(live_lab=True)
    checks.live("a check", lambda: all(p == "hog" for p in ranking_not_run),  # type: ignore[name-defined]  # noqa: F821
                optional="Memory pressure")
    assert [s.missing for s in checks.optional_skipped] == ["ranking_not_run"]
