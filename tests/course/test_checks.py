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
