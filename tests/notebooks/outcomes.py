"""What an executed notebook printed: its text outputs, and its tasks' outcome lines."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import nbformat

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
