"""A learner may skip any optional section: the rest of the notebook must not need it.

An optional section is a heading that says "Optional" and what lies under it
(`tests/notebooks/sections.py`). A name that only optional sections assign (`unknown_node`,
`scale`) is not defined when a learner skipped them, so:

- no cell outside them reads such a name (a NameError in the core path), but
- a check of the Checks cell, which says so: `checks.live(what, lambda: ..., optional="...")`
  with a part of the section's heading; `Checks` reports it skipped when the name is missing.

Cheap and static (no kernel): names are found in each cell's syntax tree, a little generously
(a name bound anywhere in a cell, even inside a function, counts as the cell's own).
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.course.test_notebook_shape import NOTEBOOKS
from tests.notebooks.sections import read, sections

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Cell:
    index: int
    tree: ast.Module
    section: str  # the optional section's heading the cell lies in, "" in the core path


def _code_cells(path: Path) -> list[Cell]:
    notebook = read(path)
    cells = zip(notebook.cells, sections(notebook), strict=True)
    return [Cell(index, ast.parse(cell.source), section)
            for index, (cell, section) in enumerate(cells) if cell.cell_type == "code"]


def _bound(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _read(tree: ast.AST) -> set[str]:
    return {node.id for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def _optional_only(cells: list[Cell]) -> dict[str, set[str]]:
    """Each name that only optional sections assign, with those sections' headings."""
    core = set().union(*(_bound(c.tree) for c in cells if not c.section))
    names: dict[str, set[str]] = {}
    for cell in cells:
        if cell.section:
            for name in _bound(cell.tree) - core - set(dir(builtins)):
                names.setdefault(name, set()).add(cell.section)
    return names


def _checks(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("plan", "live") and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "checks"]


def _optional(check: ast.Call) -> str:
    for keyword in check.keywords:
        if keyword.arg == "optional" and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    return ""


def _read_outside_optional_checks(tree: ast.AST) -> set[str]:
    """The names read in `tree` but not inside a check that says optional=: a name of a skipped
    section read beside such a check (a print after it) is a NameError all the same."""
    optional = {id(check) for check in _checks(tree) if _optional(check)}
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if id(node) in optional:
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_core_path_never_reads_a_name_only_an_optional_section_defines(notebook: Path) -> None:
    cells = _code_cells(notebook)
    optional_only = _optional_only(cells)
    found = []
    for cell in (c for c in cells if not c.section):
        read = _read_outside_optional_checks(cell.tree)
        for name in sorted((read - _bound(cell.tree)) & set(optional_only)):
            found.append(f"cell {cell.index} reads {name} (only in {sorted(optional_only[name])})")
    assert found == [], ("a learner who skipped an optional section gets a NameError here: "
                         f"{found} (a check of it says optional=\"<its heading>\")")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_an_optional_check_names_the_section_its_names_come_from(notebook: Path) -> None:
    cells = _code_cells(notebook)
    optional_only = _optional_only(cells)
    wrong = []
    for cell in (c for c in cells if not c.section):
        for check in (check for check in _checks(cell.tree) if _optional(check)):
            label = _optional(check)
            defining = set().union(*(optional_only[n] for n in _read(check) if n in optional_only))
            if not defining:
                wrong.append(f"cell {cell.index}: {label!r} reads no name of an optional section")
            elif not all(label in section for section in defining):
                wrong.append(f"cell {cell.index}: {label!r} is not in the heading of "
                             f"{sorted(defining)}")
            if not isinstance(check.args[1] if len(check.args) > 1 else None, ast.Lambda):
                wrong.append(f"cell {cell.index}: {label!r}: the check is not a lambda")
    assert wrong == []


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_an_optional_section_never_reads_a_name_only_another_one_defines(notebook: Path) -> None:
    """A learner may run one optional section and skip another (06's IPVS without the slow
    iptables-vs-nftables timing): what a section reads is its own or the core path's."""
    cells = _code_cells(notebook)
    optional_only = _optional_only(cells)
    found = []
    for cell in (c for c in cells if c.section):
        for name in sorted(_read(cell.tree) - _bound(cell.tree)):
            others = optional_only.get(name, set()) - {cell.section}
            if others and cell.section not in optional_only[name]:
                found.append(f"cell {cell.index} ({cell.section!r}) reads {name} "
                             f"(only in {sorted(others)})")
    assert found == [], f"a learner who skipped the other section gets a NameError: {found}"
