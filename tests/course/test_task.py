"""The learner-task API: both modes, both sides of every check, predictions, the widget."""

from __future__ import annotations

import re

import pytest

from nodelab.course.task import OUTCOME_PATTERN, Lesson, TaskFailed, matches, run_check
from nodelab.errors import NodelabError

pytestmark = pytest.mark.unit


class Lab:
    """A stand-in lab state for the API's own logic (the notebooks check real labs)."""

    def __init__(self) -> None:
        self.labels: dict[str, str] = {}

    def zone_check(self) -> str | None:
        return None if self.labels.get("zone") == "a" else "node1 has no label zone=a"


def outcomes(text: str) -> list[tuple[str, str]]:
    return [(m["key"], m["outcome"]) for m in re.finditer(OUTCOME_PATTERN, text, re.M)]


@pytest.mark.parametrize(("check", "expected"), [
    (lambda: None, None),
    (lambda: "", None),
    (lambda: "missing", "missing"),
    (lambda: (_ for _ in ()).throw(AssertionError("no pod")), "no pod"),
    (lambda: (_ for _ in ()).throw(NodelabError("kubectl get failed")), "kubectl get failed"),
])
def test_run_check_turns_results_and_errors_into_a_verdict(check, expected) -> None:  # type: ignore[no-untyped-def]
    assert run_check(check) == expected


def test_run_check_lets_real_bugs_through() -> None:
    with pytest.raises(KeyError):
        run_check(lambda: dict[str, str]()["x"])


def test_learner_mode_reports_and_never_raises(capsys: pytest.CaptureFixture[str]) -> None:
    lab = Lab()
    task = Lesson(solve=False).task("label-node", "label it", lab.zone_check)
    task.solve()  # does nothing for a learner
    assert task.check() is False
    lab.labels["zone"] = "a"
    assert task.check() is True
    assert outcomes(capsys.readouterr().out) == [("label-node", "not yet"), ("label-node", "done")]


def test_solve_mode_proves_both_sides(capsys: pytest.CaptureFixture[str]) -> None:
    lab = Lab()
    task = Lesson(solve=True).task("label-node", "label it", lab.zone_check)

    @task.solution
    def _() -> None:
        lab.labels["zone"] = "a"

    task.solve()
    assert task.check() is True
    assert outcomes(capsys.readouterr().out) == [("label-node", "fails unsolved"),
                                                 ("label-node", "done")]


def test_a_check_that_cannot_fail_is_refused() -> None:
    task = Lesson(solve=True).task("always", "nothing to do", lambda: None)
    task.solution(lambda: None)
    with pytest.raises(TaskFailed, match="passed before the solution"):
        task.solve()


def test_a_wrong_solution_fails_the_check_in_solve_mode() -> None:
    lab = Lab()
    task = Lesson(solve=True).task("label-node", "label it", lab.zone_check)
    task.solution(lambda: lab.labels.update(zone="b"))
    task.solve()
    with pytest.raises(TaskFailed, match="node1 has no label zone=a"):
        task.check()


def test_solve_mode_needs_a_solution() -> None:
    task = Lesson(solve=True).task("label-node", "label it", Lab().zone_check)
    with pytest.raises(TaskFailed, match="has no solution"):
        task.solve()


def test_live_tasks_are_skipped_without_a_lab(capsys: pytest.CaptureFixture[str]) -> None:
    lesson = Lesson(solve=True, live=False)
    live = lesson.task("live", "needs a lab", lambda: "never")
    pure = lesson.task("pure", "plan only", lambda: "not yet", needs_lab=False)
    live.solve()  # skipped: no solution is needed where nothing can run
    assert live.check() is False
    with pytest.raises(TaskFailed):
        pure.check()
    assert outcomes(capsys.readouterr().out) == [("live", "skipped"), ("pure", "not yet")]
    assert lesson.summary() == "tasks: 1 not yet, 1 skipped"


def test_a_task_unavailable_on_this_lab_is_skipped_with_its_reason(
        capsys: pytest.CaptureFixture[str]) -> None:
    lesson = Lesson(solve=True, live=True)
    why = "node-problem-detector is deployed on a lab's own control plane only"
    task = lesson.task("oom-event", "an OOM event", lambda: "never", unavailable=why)
    guess = lesson.predict("guess", "which?", lambda: 1, unavailable=why)
    task.solve()  # no solution runs where the task cannot
    assert task.check() is False and guess.check() is False
    out = capsys.readouterr().out
    assert f"task oom-event: skipped: {why}" in out
    assert outcomes(out) == [("oom-event", "skipped"), ("guess", "skipped")]


def test_a_prediction_is_compared_with_what_the_lab_shows() -> None:
    measured = {"value": 0.9}
    task = Lesson().predict("throttle", "how much?", lambda: measured["value"], tolerance=0.1)
    assert task.check() is False  # nothing committed yet
    task.answer(0.5)
    assert task.check() is False and task.observed == 0.9
    task.answer(0.85)
    assert task.check() is True


def test_a_prediction_with_choices_refuses_other_answers() -> None:
    task = Lesson().predict("ping", "does it work?", lambda: "yes", choices=("yes", "no"))
    with pytest.raises(NodelabError, match="'maybe' is not one of 'yes', 'no'"):
        task.answer("maybe")
    task.answer("no")
    assert task.check() is False
    task.answer("yes")
    assert task.check() is True


def test_a_prediction_in_solve_mode_fails_until_answered() -> None:
    task = Lesson(solve=True).predict("p", "?", lambda: [0.2, 0.25], tolerance=0.01)
    task.solution(lambda: task.answer([0.2, 0.25]))
    task.solve()
    assert task.check() is True


@pytest.mark.parametrize(("predicted", "observed", "tolerance", "expected"), [
    (0.5, 0.55, 0.1, True), (0.5, 0.7, 0.1, False), ([1, 2], [1, 2], 0, True),
    ([1, 2], [1], 0, False), ("a", "a", 0, True), ("a", "b", 0, False),
])
def test_matches(predicted: object, observed: object, tolerance: float, expected: bool) -> None:
    assert matches(predicted, observed, tolerance) is expected


def test_keys_are_unique_in_a_lesson() -> None:
    lesson = Lesson()
    lesson.task("a", "x", lambda: None)
    with pytest.raises(NodelabError, match="task a is defined twice"):
        lesson.task("a", "y", lambda: None)


def test_a_task_cell_run_again_replaces_its_task() -> None:
    """A learner re-runs a scenario's setup cell: the same task is made again (it raised)."""
    lesson = Lesson()
    first = lesson.task("a", "x", lambda: None)
    lesson.task("b", "z", lambda: None)
    again = lesson.task("a", "x", lambda: "not yet")
    assert [t.key for t in lesson.tasks] == ["a", "b"]
    assert lesson.tasks[0] is again and again is not first


def test_a_prediction_cell_run_again_keeps_the_committed_answer(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A learner commits, then runs the prediction's cell again (07's graceful pod: to make the
    pod again): the answer stays committed, says so, and shows in the new widget (it was dropped
    silently, and the check said 'no prediction committed yet')."""
    from nodelab.course.task_widget import task_widget

    lesson = Lesson()
    first = lesson.predict("ping", "does it work?", lambda: "yes", choices=("yes", "no"))
    first.answer("yes")
    again = lesson.predict("ping", "does it work?", lambda: "yes", choices=("yes", "no"))
    assert lesson.tasks == [again] and again.answer_value == "yes"
    kept = ("task ping: predicted 'yes' (kept: committed before this cell ran again; "
            "the task's .answer(...) changes it)")
    assert kept in capsys.readouterr().out
    assert again.check() is True
    choice, commit = task_widget(again).children[1].children
    assert choice.value == "yes" and choice.disabled and commit.disabled


def test_a_prediction_made_again_with_other_choices_starts_unanswered() -> None:
    from nodelab.course.task_widget import task_widget

    lesson = Lesson()
    lesson.predict("ping", "does it work?", lambda: "yes", choices=("yes", "no")).answer("no")
    again = lesson.predict("ping", "does it work?", lambda: "yes", choices=("yes", "sometimes"))
    assert again.answer_value is None
    lesson.predict("guess", "how much?", lambda: 0.5).answer(0.5)
    again_number = lesson.predict("guess", "how much?", lambda: 0.5)
    assert again_number.answer_value == 0.5
    number, commit = task_widget(again_number).children[1].children
    assert number.value == 0.5 and number.disabled and commit.disabled


def test_the_widget_reveals_hints_one_at_a_time_and_checks() -> None:
    import ipywidgets as widgets

    from nodelab.course.task_widget import task_widget

    lab = Lab()
    task = Lesson().task("label-node", "Label `node1`.", lab.zone_check, hints=("one", "two"))
    box = task_widget(task)
    assert isinstance(box, widgets.VBox)
    assert "<code>node1</code>" in box.children[0].value
    hint, check = box.children[1].children
    hint.click()
    assert hint.description == "hint (1/2)" and not hint.disabled
    hint.click()
    assert hint.disabled
    lab.labels["zone"] = "a"
    check.click()
    assert task.outcomes == ["done"]


def test_the_widget_commits_a_prediction() -> None:
    from nodelab.course.task_widget import task_widget

    task = Lesson().predict("ping", "does it work?", lambda: "yes", choices=("yes", "no"))
    box = task_widget(task)
    choice, commit = box.children[1].children
    choice.value = "yes"
    commit.click()
    assert task.answer_value == "yes" and commit.disabled


def test_a_long_object_folds_under_its_title() -> None:
    from nodelab.course import collapsible

    folded = collapsible("the Node", {"a": 1, "b": [1, 2]})
    assert repr(folded) == "the Node (7 lines, folded)"
    assert folded._repr_html_().startswith("<details><summary>the Node (7 lines")


def test_a_check_can_wait_for_the_lab_to_converge() -> None:
    calls = iter(["not bound yet", "not running yet", None])
    task = Lesson(solve=True).task("converge", "x", lambda: next(calls))
    assert task.check(wait=5) is True
    looks = []
    learner = Lesson().task("learner", "x", lambda: looks.append(1) or "not yet")  # type: ignore[func-returns-value]
    assert learner.check(wait=30) is False and looks == [1], "a learner gets one look, at once"


def test_the_course_doctor_shows_what_the_course_needs() -> None:
    from nodelab.course.doctor_rows import course_rows
    from nodelab.host.doctor import Finding

    findings = [Finding("root", "ok", "running as root"),
                Finding("CAP_SYS_RESOURCE", "limited", "refused", "negative oom", "grant it"),
                Finding("kind", "missing", "kind not found", "`nodelab kind up`", "install kind"),
                Finding("IPVS", "limited", "no IPVS", "nothing", "a kernel with IP_VS")]
    text = course_rows(findings)
    assert "running as root" in text and "CAP_SYS_RESOURCE" in text
    assert "note (CAP_SYS_RESOURCE): 05 shows" in text
    assert "kind not found" not in text and "no IPVS" not in text
    assert text.endswith("(2 more rows the course does not need: kind, IPVS; "
                         "`nodelab doctor` shows them)")
