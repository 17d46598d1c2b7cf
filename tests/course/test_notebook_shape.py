"""The committed notebooks: no outputs, the course's parameters, tasks, objectives, takeaways.

Cheap structural checks (no kernel): what a learner opens must be clean, and every notebook
must carry what the workshop promises. The notebooks' behaviour is proven by
tests/notebooks (papermill on a real lab, and plan-only runs).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from tests.notebooks.sections import read

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("[0-9][0-9]-*.ipynb"))
PARAMETERS = ("lab_name", "fresh_lab", "solve", "fast")

pytestmark = pytest.mark.unit


def _cells(path: Path) -> list[nbformat.NotebookNode]:
    cells: list[nbformat.NotebookNode] = read(path).cells
    return cells


def _tagged(path: Path, tag: str) -> list[nbformat.NotebookNode]:
    return [c for c in _cells(path) if tag in c.metadata.get("tags", [])]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_committed_notebook_carries_no_outputs(notebook: Path) -> None:
    dirty = [i for i, c in enumerate(_cells(notebook))
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert dirty == [], (f"cells {dirty} carry outputs or execution counts: "
                         "clear them before committing")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_notebook_has_the_course_parameters(notebook: Path) -> None:
    (parameters,) = _tagged(notebook, "parameters")
    for name in PARAMETERS:
        assert f"\n{name} = " in f"\n{parameters.source}", f"no parameter {name}"
    assert 'lab_name = "demo"' in parameters.source, "by default the notebooks use the running lab"


WITH_CLUSTER = ("01-", "04-", "06-", "07-")  # notebooks whose lab may join another cluster


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_cluster_parameter_where_it_makes_sense(notebook: Path) -> None:
    (parameters,) = _tagged(notebook, "parameters")
    source = "\n".join(c.source for c in _cells(notebook) if c.cell_type == "code")
    if notebook.stem.startswith(WITH_CLUSTER):
        assert '\ncluster = "embedded"' in f"\n{parameters.source}", "embedded by default"
        assert "cluster=cluster" in source, "the parameter reaches use_lab"
    else:
        assert "\ncluster = " not in f"\n{parameters.source}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_notebook_states_objectives_and_takeaways(notebook: Path) -> None:
    cells = _cells(notebook)
    assert "**Learning objectives.**" in cells[0].source
    assert "Core path:" in cells[0].source, "the first cell gives the core path's time"
    assert any(c.source.startswith("## Takeaways") for c in cells)


@pytest.mark.parametrize("notebook", [p for p in NOTEBOOKS if "01" <= p.stem[:2] <= "07"],
                         ids=lambda p: p.stem)
def test_a_lesson_has_at_least_two_tasks_with_hidden_solutions(notebook: Path) -> None:
    tasks = _tagged(notebook, "task")
    solutions = _tagged(notebook, "solution")
    assert len(tasks) >= 2, "at least two learner tasks (cells tagged `task`)"
    assert len(solutions) == len(tasks), "one hidden solution cell per task"
    for cell in solutions:
        assert cell.metadata.get("jupyter", {}).get("source_hidden"), "a solution is folded away"
        assert ".solution" in cell.source and ".solve()" in cell.source


# what changes the lab: kubectl's writing verbs (through `kubectl(kubeconfig, ...)` or a
# notebook's own `k(...)`), the lab's own daemon and add-on switches, and a node's firewall
WRITES = {"annotate", "apply", "autoscale", "cordon", "create", "delete", "drain", "edit", "expose",
          "label", "patch", "replace", "rollout", "run", "scale", "set", "taint", "uncordon"}
LAB_CHANGES = {"enable_node_problem_detector", "restart_daemon", "set_node_monitor_grace_period",
               "start_daemon", "stop_daemon"}
VALUE_FLAGS = {"-n", "--namespace", "--kubeconfig", "--context", "-l", "--selector", "-f",
               "--filename", "-o", "--output"}  # kubectl flags with a value
IPTABLES_WRITES = {"-A", "--append", "-I", "--insert", "-D", "--delete", "-R", "--replace", "-F",
                   "--flush", "-N", "--new-chain", "-X", "--delete-chain", "-P", "--policy", "-Z",
                   "--zero"}
RULE_WRITES = {"iptables": IPTABLES_WRITES, "ip6tables": IPTABLES_WRITES,
               "nft": {"add", "create", "insert", "replace", "delete", "destroy", "flush", "-f"}}


def _words(call: ast.Call, skip: int) -> list[str]:
    """The call's leading string arguments after the first `skip` (stops at `*args`, a variable)."""
    words = []
    for arg in call.args[skip:]:
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            break
        words.append(arg.value)
    return words


def kubectl_verb(words: list[str]) -> str | None:
    """kubectl's verb: the first word that is not a flag or a flag's value (`-n kube-system`)."""
    value_next = False
    for word in words:
        if value_next:
            value_next = False
        elif word in VALUE_FLAGS:
            value_next = True
        elif not word.startswith("-"):
            return word
    return None


def task_names(cells: list[nbformat.NotebookNode]) -> set[str]:
    """The names a notebook gives its tasks: `name = lesson.task(...)` or `lesson.predict(...)`."""
    names = set()
    for cell in cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                    and isinstance(node.value.func, ast.Attribute)
                    and node.value.func.attr in ("task", "predict")):
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _is_task_check(node: ast.AST, tasks: set[str]) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "check" and isinstance(node.func.value, ast.Name)
            and node.func.value.id in tasks)


def lab_changes(statement: ast.AST) -> Iterator[str]:
    for node in ast.walk(statement):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name in ("kubectl", "k"):
            verb = kubectl_verb(_words(node, 1 if name == "kubectl" else 0))
            if verb in WRITES:
                yield f"kubectl {verb}"
        elif name == "in_node":
            argv = _words(node, 1)
            if argv and argv[0] in RULE_WRITES and RULE_WRITES[argv[0]] & set(argv[1:]):
                yield " ".join(argv)
        elif isinstance(node.func, ast.Attribute) and node.func.attr in LAB_CHANGES:
            yield node.func.attr


@pytest.mark.parametrize(("source", "changes"), [
    ('kubectl(kc, "-n", "kube-system", "delete", "daemonset", "x")', ["kubectl delete"]),
    ('kubectl(kc, "--namespace", "delete", "get", "pods")', []),
    ('kubectl(kc, "get", "pods", "-o", "wide")', []),
    ('k("scale", "deployment", "front", "--replicas=2")', ["kubectl scale"]),
    ('k("-n", "kube-system", "set", "selector", "service", "dns", "k8s-app=x")', ["kubectl set"]),
    ('in_node(netns, "iptables", "-D", *api_block)', ["iptables -D"]),
    ('in_node(netns, "iptables", "-t", "nat", "-F", chain)', ["iptables -t nat -F"]),
    ('in_node(netns, "iptables-save", "-t", "nat")', []),
    ('in_node(netns, "iptables", "-S", "OUTPUT")', []),
    ('in_node(netns, "nft", "flush", "table", "ip", "x")', ["nft flush table ip x"]),
    ('lab.start_daemon("runtime", node="node1")', ["start_daemon"]),
])
def test_what_counts_as_a_lab_change(source: str, changes: list[str]) -> None:
    assert list(lab_changes(ast.parse(source))) == changes


def test_tasks_are_found_by_the_names_the_lesson_gives_them() -> None:
    cells = [nbformat.v4.new_code_cell('shop = lesson.task("a", "x", check=f)\n'  # type: ignore[no-untyped-call]
                                       'guess = lesson.predict("b", "y", observe=g)\nother = f(1)')]
    assert task_names(cells) == {"shop", "guess"}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_check_cell_changes_the_lab_only_once_the_check_passed(notebook: Path) -> None:
    """A learner runs a check cell before the task is done and gets `not yet`: a clean-up or a
    repair after the check in the same cell (a delete, an uncordon, starting a daemon) undid
    the task's setup or did the task for them, so that a re-run could never pass. Those go in
    a later cell, or under `if task.check(...):`."""
    cells = _cells(notebook)
    tasks = task_names(cells)
    found = []
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or "solution" in cell.metadata.get("tags", []):
            continue
        checked = False
        for statement in ast.parse(cell.source).body:
            if checked:
                found += [f"cell {index}: {change}" for change in lab_changes(statement)]
            elif any(_is_task_check(node, tasks) for node in ast.walk(statement)):
                checked = True
    assert found == [], f"the lab changed after a task's check, in the same cell: {found}"


def test_the_break_and_fix_notebook_has_four_scenarios() -> None:
    (notebook,) = [p for p in NOTEBOOKS if p.stem.startswith("08-")]
    scenarios = _tagged(notebook, "scenario")
    assert len(scenarios) >= 4, "at least four scenarios (cells tagged `scenario`)"
    assert len(_tagged(notebook, "solution")) == len(scenarios)


@pytest.mark.parametrize("notebook", [p for p in NOTEBOOKS if "01" <= p.stem[:2] <= "08"],
                         ids=lambda p: p.stem)
def test_a_plan_only_run_points_at_the_notebooks_reference_outputs(notebook: Path) -> None:
    from nodelab.course.plan_only import reference_page

    assert any(f'describe_privileges("{notebook.stem}")' in c.source for c in _cells(notebook)), \
        "the first code cell names the notebook to describe_privileges, which links its reference"
    page = Path(__file__).parents[2] / reference_page(notebook.stem)
    assert page.is_file(), f"no reference outputs {page}: run `sudo bash scripts/publish-reference`"
