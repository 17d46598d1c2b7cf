"""How the suite spreads over pytest-xdist's workers (the README's test command runs `-n`).

xdist's `loadgroup` sends every test of one `xdist_group` to the same worker. The groups are
made so that each expensive fixture still comes up once per run:

- a module is one group at least: its module-scoped labs, API servers and registries come up
  once, on one worker;
- modules that use one session- or package-scoped fixture (the lab suite's `cluster`, the docs
  examples' lab, the security package's lab, the runtime tests' registry) are one group, so
  that fixture comes up on one worker only. The suite-wide fixtures of tests/conftest.py are
  left out: each worker has its own anyway (its state base).

Groups go out longest first (the longest-processing-time rule: the long groups start while the
short ones are left to fill the gaps), by the seconds each module took in a recorded run
(tests/durations.json; `--record-durations tests/durations.json` on a run writes it anew); a
module the record does not know is counted by its tests' marks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest

DURATIONS = Path(__file__).with_name("durations.json")

# What a test the record does not know is counted as, by its widest mark.
UNKNOWN_TEST_SECONDS = {"notebook": 60.0, "privileged": 5.0, "slow": 5.0}
UNIT_TEST_SECONDS = 0.05


def groups(uses: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Each module's group: the first module (in the order given) of the modules it shares a
    wide fixture with, directly or through others; `uses` maps each module to the keys of the
    session- and package-scoped fixtures its tests use."""
    parent = {module: module for module in uses}

    def root(module: str) -> str:
        while parent[module] != module:
            parent[module] = parent[parent[module]]
            module = parent[module]
        return module

    position = {module: i for i, module in enumerate(uses)}
    first_user: dict[str, str] = {}
    for module, fixtures in uses.items():
        for fixture in fixtures:
            a, b = root(first_user.setdefault(fixture, module)), root(module)
            if a != b:
                keep, drop = (a, b) if position[a] < position[b] else (b, a)
                parent[drop] = keep
    return {module: root(module) for module in uses}


def unknown_test_seconds(marks: Iterable[str]) -> float:
    """What one test the record does not know is counted as: its widest mark's figure."""
    known = [UNKNOWN_TEST_SECONDS[m] for m in marks if m in UNKNOWN_TEST_SECONDS]
    return max(known, default=UNIT_TEST_SECONDS)


def longest_first(group_of: Mapping[str, str], seconds: Mapping[str, float]) -> list[str]:
    """The groups in the order they go out: the longest (the sum of its modules' seconds)
    first; equal ones in the order their first module was given."""
    total: dict[str, float] = {}
    for module, group in group_of.items():
        total[group] = total.get(group, 0.0) + seconds.get(module, 0.0)
    position = {group: i for i, group in enumerate(dict.fromkeys(group_of.values()))}
    return sorted(total, key=lambda group: (-total[group], position[group]))


def group_items(items: list[pytest.Item], wide_fixtures: Callable[[pytest.Item], list[str]]
                ) -> None:
    """Mark each item with its module's `xdist_group` and order `items` group by group, the
    longest group first (within a group, the collection's order)."""
    uses: dict[str, set[str]] = {}
    estimate: dict[str, float] = {}
    for item in items:
        module = module_of(item.nodeid)
        uses.setdefault(module, set()).update(wide_fixtures(item))
        marks = [mark.name for mark in item.iter_markers()]
        estimate[module] = estimate.get(module, 0.0) + unknown_test_seconds(marks)
    recorded = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    seconds = {module: recorded.get(module, guess) for module, guess in estimate.items()}
    group_of = groups(uses)
    rank = {group: i for i, group in enumerate(longest_first(group_of, seconds))}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(name=group_of[module_of(item.nodeid)]))
    items.sort(key=lambda item: rank[group_of[module_of(item.nodeid)]])


def group_of_item(item: pytest.Item) -> str:
    """The work group `group_items` gave `item` ("" for none)."""
    mark = item.get_closest_marker("xdist_group")
    return str(mark.kwargs.get("name", "")) if mark else ""


def module_of(nodeid: str) -> str:
    """The module part of a test's node id (xdist's `@group` suffix and all)."""
    return nodeid.split("::")[0].split("@")[0]


def add_duration(record: dict[str, float], nodeid: str, seconds: float) -> None:
    """Count one phase (setup, call or teardown) of one test into its module's seconds."""
    module = module_of(nodeid)
    record[module] = record.get(module, 0.0) + seconds


def write_durations(record: Mapping[str, float], path: Path) -> None:
    """Write each module's seconds into `path`, over what it held for those modules (a run
    of part of the suite keeps the others' figures)."""
    known = json.loads(path.read_text()) if path.exists() else {}
    merged = {**known, **{m: round(s, 1) for m, s in record.items()}}
    path.write_text(json.dumps(dict(sorted(merged.items())), indent=0) + "\n")
