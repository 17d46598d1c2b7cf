"""What an executed notebook printed: its text outputs, and its tasks' outcome lines."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import nbformat

from nodelab.course.checks import NOT_RUN
from nodelab.course.task import OUTCOME_PATTERN


def printed(notebook: Path) -> str:
    text = []
    for cell in nbformat.read(str(notebook), as_version=4).cells:  # type: ignore[no-untyped-call]
        for output in cell.get("outputs", []):
            text.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
    return "\n".join(text)


def task_outcomes(text: str) -> dict[str, list[str]]:
    """Each task's outcomes in order, e.g. {"scale-to-5": ["fails unsolved", "done"]}."""
    found: dict[str, list[str]] = defaultdict(list)
    for match in re.finditer(OUTCOME_PATTERN, text, re.M):
        found[match["key"]].append(match["outcome"])
    return dict(found)


def tagged(notebook: Path, tag: str) -> int:
    cells = nbformat.read(str(notebook), as_version=4).cells  # type: ignore[no-untyped-call]
    return sum(tag in c.metadata.get("tags", []) for c in cells)


def assert_solved(notebook: Path, executed: Path, skipped: Sequence[str] = ()) -> str:
    """An executed solved run: all checks passed, every task's check failed first and passed
    after its solution, but the tasks `skipped` (keys), which said why they could not run.
    Returns what it printed."""
    text = printed(executed)
    assert "all checks passed" in text
    assert NOT_RUN not in text, "every section ran: no check may be skipped as not run"
    outcomes = task_outcomes(text)
    expected = tagged(notebook, "task") + tagged(notebook, "scenario")
    assert len(outcomes) == expected, f"{expected} tasks in the notebook, outcomes of {outcomes}"
    for key in skipped:
        assert outcomes.pop(key) == ["skipped"], f"task {key} was not skipped"
        assert re.search(rf"^task {key}: skipped: \S", text, re.M), f"task {key}: no reason"
    for key, seen in outcomes.items():
        assert seen[0] == "fails unsolved", f"task {key}: its check did not fail first: {seen}"
        assert seen[-1] == "done", f"task {key}: not done after its solution: {seen}"
    return text
