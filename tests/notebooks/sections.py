"""A notebook's optional sections: a heading that says "Optional" and what lies under it.

A section runs down to the next heading of its level or above (a `### Your turn` inside one is a
level deeper). Tests read them to check that a learner may skip any of them
(tests/course/test_optional_sections.py) and to run a notebook as that learner would
(tests/notebooks/test_plan_only.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

HEADING = re.compile(r"(#+)\s+(.*)")


def sections(notebook: nbformat.NotebookNode) -> list[str]:
    """Per cell: the heading of the optional section it lies in, or "" (the core path)."""
    headings: list[tuple[int, str]] = []  # the headings above, by level
    found = []
    for cell in notebook.cells:
        heading = HEADING.match(cell.source) if cell.cell_type == "markdown" else None
        if heading:
            level = len(heading[1])
            headings = [h for h in headings if h[0] < level] + [(level, heading[2])]
        found.append(next((title for _, title in headings if "optional" in title.lower()), ""))
    return found


def read(path: Path) -> nbformat.NotebookNode:
    notebook: nbformat.NotebookNode = nbformat.read(str(path), as_version=4)  # type: ignore[no-untyped-call]
    return notebook


def without_optional_sections(path: Path, target: Path) -> list[str]:
    """Write `path` without its optional sections to `target`; return their headings."""
    notebook = read(path)
    section_of = sections(notebook)
    notebook.cells = [c for c, s in zip(notebook.cells, section_of, strict=True) if not s]
    nbformat.write(notebook, str(target))  # type: ignore[no-untyped-call]
    return list(dict.fromkeys(s for s in section_of if s))
