"""The supervisor's restart decision (nodelab/lab/supervision/policy.py), as tables."""

from __future__ import annotations

import pytest

from nodelab.lab.supervision.policy import (
    ExitStatus,
    History,
    RestartPolicy,
    after_exit,
    explicit_start,
    record_start,
    restart_delay,
)

pytestmark = pytest.mark.unit

POLICY = RestartPolicy(restart_sec=0.2, max_delay=10.0, steps=6, start_limit_interval=60.0,
                       start_limit_burst=8, reset_after=10.0)


@pytest.mark.parametrize(("consecutive", "delay"), [
    (0, 0.2),  # RestartSec: the first restart
    (1, 0.384),
    (3, 1.414),
    (6, 10.0),  # RestartMaxDelaySec reached after RestartSteps
    (50, 10.0),  # and never more
])
def test_the_delay_grows_geometrically_to_the_cap(consecutive: int, delay: float) -> None:
    assert restart_delay(consecutive, POLICY) == pytest.approx(delay, abs=0.001)


@pytest.mark.parametrize("policy", [RestartPolicy(steps=0), RestartPolicy(max_delay=0.1)])
def test_without_steps_or_a_larger_cap_the_delay_is_restart_sec(policy: RestartPolicy) -> None:
    assert restart_delay(5, policy) == policy.restart_sec


@pytest.mark.parametrize(
    ("history", "ran_for", "stop", "action", "delay", "consecutive", "restarts"),
    [
        # Restart=always: any exit of a daemon nobody stopped restarts it
        (History(starts=(0.0,)), 5.0, False, "restart", 0.2, 1, 1),
        # a crash loop waits longer each time
        (History(starts=(0.0, 1.0, 2.0), consecutive=3, restarts=3), 1.0, False,
         "restart", 1.414, 4, 4),
        # a run longer than reset_after starts the delay over (the count of restarts stays)
        (History(starts=(0.0,), consecutive=5, restarts=7), 30.0, False, "restart", 0.2, 1, 8),
        # stopped on request: stays stopped, counts no restart
        (History(starts=(0.0,), consecutive=2, restarts=2), 5.0, True, "stay-stopped", 0.0, 2, 2),
        # StartLimitBurst starts within StartLimitIntervalSec: failed, no restart
        (History(starts=tuple(float(t) for t in range(51, 59)), consecutive=7, restarts=7), 1.0,
         False, "fail", 0.0, 7, 7),
        # starts that left the window do not count
        (History(starts=tuple(float(t) for t in range(0, 8)), consecutive=7, restarts=7), 1.0,
         False, "restart", 10.0, 8, 8),
    ],
)
def test_after_exit(history: History, ran_for: float, stop: bool, action: str, delay: float,
                    consecutive: int, restarts: int) -> None:
    decision = after_exit(history, ran_for, stop, now=60.0, policy=POLICY)
    assert decision.action == action
    assert decision.delay == pytest.approx(delay, abs=0.001)
    assert decision.history.consecutive == consecutive
    assert decision.history.restarts == restarts


def test_the_start_limit_names_itself_and_what_to_do() -> None:
    history = History(starts=tuple(float(t) for t in range(8)))
    decision = after_exit(history, 0.5, False, now=8.0, policy=POLICY)
    assert decision.reason.startswith("start-limit-hit: started 8 times within 60s")
    assert "nodelab daemon start" in decision.reason


def test_record_start_slides_the_window() -> None:
    history = History(starts=(0.0, 30.0))
    assert record_start(history, 70.0, POLICY).starts == (30.0, 70.0)


def test_an_explicit_start_clears_the_limit_and_the_delay_but_keeps_the_count() -> None:
    failed = History(starts=tuple(float(t) for t in range(8)), consecutive=7, restarts=9)
    assert explicit_start(failed) == History(restarts=9)


@pytest.mark.parametrize(("returncode", "text"), [
    (0, "exit code 0"),
    (1, "exit code 1"),
    (-9, "signal 9 (SIGKILL)"),
    (-15, "signal 15 (SIGTERM)"),
    (None, "exit status unknown (started by an earlier supervisor)"),
])
def test_exit_status_says_how_a_run_ended(returncode: int | None, text: str) -> None:
    assert ExitStatus.of_returncode(returncode).describe() == text
