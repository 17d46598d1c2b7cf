"""Learner tasks: the learner changes or predicts something, and a check looks at the real lab.

A notebook makes one `Lesson` from its parameters (`solve`, and whether a lab is here) and asks
it for tasks. A task is:

- a **prompt** (markdown) and **staged hints**, shown by `task.show()` in a small widget
  (`task_widget.py`) whose buttons reveal one hint at a time and run the check;
- a **cell the learner edits** (`lesson.task`): its code changes the lab (`kubectl label ...`),
  or a **prediction** (`lesson.predict`): an answer committed in a widget *before* the
  notebook measures (`task.answer(value)` does the same from code, and changes it); a task's
  cell run again replaces the task, and a prediction keeps the answer already committed;
- a **solution**, registered by a cell whose source is hidden in JupyterLab (tag `solution`,
  `jupyter.source_hidden`) with the decorator `@task.solution`;
- a **check** that inspects the lab's real state (the kernel, API objects), never the
  learner's code. It returns None when the task is done, or a sentence saying what is not yet
  true; it may also raise AssertionError or NodelabError with that sentence (a `kubectl get`
  of an object that does not exist yet is "not yet", not a crash). A prediction's check
  compares the committed answer with what `observe()` measures on the lab.

Two modes, the notebook's `solve` parameter:

- `solve=False` (a learner): `task.solve()` does nothing; `task.check()` prints `done` or
  `not yet: <why>` and never raises, so the learner can try again.
- `solve=True` (papermill in the test suite): `task.solve()` first runs the check and
  requires it to FAIL (a check that cannot fail is a defect), then runs the solution;
  `task.check()` then requires it to pass and raises `TaskFailed` otherwise. One run proves
  both sides of every check on the live lab.

A task that needs a lab (`needs_lab=True`, the default) is skipped, saying so, where none is
up (Binder); a task given `unavailable="why"` is skipped with that reason everywhere (a lesson
that cannot run on this lab: node-problem-detector on a lab joined to another cluster). Every
outcome is printed as one line starting with `task <key>:`; the notebook tests read those
lines (`OUTCOME_PATTERN`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from nodelab.errors import NodelabError

Check = Callable[[], "str | None"]
Solution = Callable[[], Any]

# One printed line per outcome, e.g. "task label-node: done" (tests/notebooks read them).
OUTCOME_PATTERN = r"^task (?P<key>[a-z0-9-]+): (?P<outcome>done|not yet|skipped|fails unsolved)"


class TaskFailed(AssertionError):
    """A task's check did not pass in solve mode, or passed before the solution."""


def run_check(check: Check) -> str | None:
    """Run a check: None when satisfied, else what is not yet true."""
    try:
        problem = check()
    except (AssertionError, NodelabError) as error:
        return str(error) or type(error).__name__
    if problem is None or problem == "":
        return None
    return str(problem)


@dataclass
class Task:
    """One learner task; make it with `Lesson.task` or `Lesson.predict`."""

    key: str
    prompt: str
    check_fn: Check
    hints: Sequence[str] = ()
    needs_lab: bool = True
    lesson: Lesson | None = None
    solution_fn: Solution | None = None
    outcomes: list[str] = field(default_factory=list)
    unavailable: str = ""  # why this task cannot run on this lab ("" : it can)
    predicts: ClassVar[bool] = False  # a Prediction: an answer is committed before the check

    # --- faces --------------------------------------------------------------------------

    def show(self) -> Any:
        """Display the prompt with hint and check buttons; return the widget."""
        from IPython.display import display

        from nodelab.course.task_widget import task_widget

        widget = task_widget(self)
        display(widget)  # type: ignore[no-untyped-call]
        return widget

    def solution(self, fn: Solution) -> Solution:
        """Decorator for the hidden solution cell: `@task.solution` over a function."""
        self.solution_fn = fn
        return fn

    # --- the two modes --------------------------------------------------------------------

    @property
    def live(self) -> bool:
        if self.unavailable:
            return False
        return self.lesson is None or self.lesson.live or not self.needs_lab

    @property
    def solving(self) -> bool:
        return self.lesson is not None and self.lesson.solve

    def solve(self) -> None:
        """In solve mode: the check must fail now; then fill in the solution."""
        if not self.solving or not self.live:
            return
        if self.solution_fn is None:
            raise TaskFailed(f"task {self.key} has no solution: add a hidden cell with "
                             f"@{self.key.replace('-', '_')}.solution")
        problem = run_check(self.check_fn)
        if problem is None:
            raise TaskFailed(f"task {self.key}: its check passed before the solution ran "
                             "(a check that cannot fail is a defect, or the lab was not reset)")
        self._say("fails unsolved", problem)
        self.solution_fn()

    def check(self, wait: float = 0.0) -> bool:
        """Look at the lab: print the outcome; True when done. Raises only in solve mode.

        `wait` (seconds), in solve mode: the lab converges after a change (a pod is bound,
        then started), so the check is retried until it passes or that time is up. A learner
        gets one look at once (its message says what is not there yet) and checks again."""
        if not self.live:
            self._say("skipped", self.unavailable or "needs a lab (none is up on this host)")
            return False
        deadline = time.monotonic() + (wait if self.solving else 0.0)
        problem = run_check(self.check_fn)
        while problem is not None and time.monotonic() < deadline:
            time.sleep(0.5)
            problem = run_check(self.check_fn)
        if problem is None:
            self._say("done", "")
            return True
        self._say("not yet", problem)
        if self.solving:
            raise TaskFailed(f"task {self.key} failed after its solution: {problem}")
        return False

    def _say(self, outcome: str, detail: str) -> None:
        self.outcomes.append(outcome)
        print(f"task {self.key}: {outcome}" + (f": {detail}" if detail else ""))


@dataclass
class Prediction(Task):
    """A predict-then-observe task: an answer first, then `observe()` measures the lab."""

    predicts: ClassVar[bool] = True

    observe: Callable[[], Any] = lambda: None
    choices: Sequence[str] = ()
    tolerance: float = 0.0
    answer_value: Any = None
    observed: Any = None

    def answer(self, value: Any) -> None:
        """Commit a prediction (what the widget's button does)."""
        if self.choices and value not in self.choices:
            raise NodelabError(f"{value!r} is not one of {', '.join(map(repr, self.choices))}")
        self.answer_value = value
        print(f"task {self.key}: predicted {value!r}")

    def keep_answer(self, earlier: Prediction) -> None:
        """Take over the answer committed to `earlier`, this prediction's cell run before."""
        kept = earlier.answer_value
        if kept is None or (self.choices and kept not in self.choices):
            return
        self.answer_value = kept
        print(f"task {self.key}: predicted {kept!r} (kept: committed before this cell ran "
              "again; the task's .answer(...) changes it)")

    def compare(self) -> str | None:
        """The prediction's check: committed, and matching what the lab shows."""
        if self.answer_value is None:
            return "no prediction committed yet (answer in the widget above, before measuring)"
        self.observed = self.observe()
        if matches(self.answer_value, self.observed, self.tolerance):
            return None
        return f"predicted {self.answer_value!r}, the lab shows {self.observed!r}"


def matches(predicted: Any, observed: Any, tolerance: float) -> bool:
    """A number within `tolerance` (absolute), a sequence element by element, else equality."""
    if isinstance(predicted, (int, float)) and isinstance(observed, (int, float)):
        return math.isclose(predicted, observed, rel_tol=0.0, abs_tol=tolerance)
    if isinstance(predicted, (list, tuple)) and isinstance(observed, (list, tuple)):
        return len(predicted) == len(observed) and all(
            matches(p, o, tolerance) for p, o in zip(predicted, observed, strict=True))
    return bool(predicted == observed)


@dataclass
class Lesson:
    """The tasks of one notebook, in its mode (`solve`) and on its host (`live`: a lab is up)."""

    solve: bool = False
    live: bool = True
    tasks: list[Task] = field(default_factory=list)

    def task(self, key: str, prompt: str, check: Check, hints: Sequence[str] = (),
             needs_lab: bool = True, unavailable: str = "") -> Task:
        made = Task(key, prompt, check, tuple(hints), needs_lab, self, unavailable=unavailable)
        self._add(made)
        return made

    def predict(self, key: str, prompt: str, observe: Callable[[], Any],
                choices: Sequence[str] = (), tolerance: float = 0.0,
                hints: Sequence[str] = (), needs_lab: bool = True,
                unavailable: str = "") -> Prediction:
        made = Prediction(key, prompt, lambda: None, tuple(hints), needs_lab, self,
                          unavailable=unavailable, observe=observe, choices=tuple(choices),
                          tolerance=tolerance)
        made.check_fn = made.compare
        self._add(made)
        return made

    def _add(self, task: Task) -> None:
        """Add `task`; the same task again (its cell run a second time) replaces the first.

        A prediction made again keeps the answer the learner committed to the first, as long
        as it is still one of the choices: running the cell again does not take it back."""
        for i, known in enumerate(self.tasks):
            if known.key != task.key:
                continue
            if (known.prompt, type(known)) != (task.prompt, type(task)):
                raise NodelabError(f"task {task.key} is defined twice in this notebook")
            if isinstance(known, Prediction) and isinstance(task, Prediction):
                task.keep_answer(known)
            self.tasks[i] = task
            return
        self.tasks.append(task)

    def summary(self) -> str:
        """One line: how many tasks are done, not yet done, skipped."""
        last = [t.outcomes[-1] if t.outcomes else "not checked" for t in self.tasks]
        parts = [f"{last.count(o)} {o}" for o in ("done", "not yet", "skipped", "not checked")
                 if last.count(o)]
        return f"tasks: {', '.join(parts) or 'none'}"
