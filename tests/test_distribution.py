"""How the suite's modules become pytest-xdist work groups, and their order."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.distribution import (
    add_duration,
    groups,
    longest_first,
    module_of,
    unknown_test_seconds,
    write_durations,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("uses", "expected"), [
    ({}, {}),
    # modules without a wide fixture are groups of their own
    ({"a.py": [], "b.py": []}, {"a.py": "a.py", "b.py": "b.py"}),
    # one shared fixture: the first user names the group
    ({"a.py": [], "b.py": ["lab"], "c.py": ["lab"]}, {"a.py": "a.py", "b.py": "b.py",
                                                    "c.py": "b.py"}),
    # through another module: a and c share nothing, both share with b
    ({"a.py": ["lab"], "b.py": ["lab", "registry"], "c.py": ["registry"]},
     {"a.py": "a.py", "b.py": "a.py", "c.py": "a.py"}),
    # two groups joined by a later module keep the earlier group's name
    ({"a.py": ["x"], "b.py": ["y"], "c.py": ["y", "x"], "d.py": []},
     {"a.py": "a.py", "b.py": "a.py", "c.py": "a.py", "d.py": "d.py"}),
    ({"a.py": ["x"], "b.py": ["y"], "c.py": ["x"]},
     {"a.py": "a.py", "b.py": "b.py", "c.py": "a.py"}),
])
def test_modules_that_share_a_wide_fixture_are_one_group(uses: dict[str, list[str]],
                                                          expected: dict[str, str]) -> None:
    assert groups(uses) == expected


@pytest.mark.parametrize(("group_of", "seconds", "expected"), [
    ({}, {}, []),
    ({"a": "a", "b": "b"}, {"a": 1.0, "b": 5.0}, ["b", "a"]),
    # a group counts all its modules
    ({"a": "a", "b": "b", "c": "a"}, {"a": 3.0, "b": 5.0, "c": 3.0}, ["a", "b"]),
    # equal ones keep the given order; an unrecorded module counts nothing
    ({"a": "a", "b": "b", "c": "c"}, {"b": 2.0}, ["b", "a", "c"]),
])
def test_groups_go_out_longest_first(group_of: dict[str, str], seconds: dict[str, float],
                                     expected: list[str]) -> None:
    assert longest_first(group_of, seconds) == expected


@pytest.mark.parametrize(("marks", "expected"), [
    ([], 0.05),
    (["unit"], 0.05),
    (["privileged", "slow"], 5.0),
    (["notebook", "slow", "parametrize"], 60.0),
])
def test_an_unrecorded_test_counts_by_its_widest_mark(marks: list[str], expected: float) -> None:
    assert unknown_test_seconds(marks) == expected


@pytest.mark.parametrize(("nodeid", "expected"), [
    ("tests/lab/test_x.py::test_y", "tests/lab/test_x.py"),
    ("tests/lab/test_x.py::TestZ::test_y[a-b]", "tests/lab/test_x.py"),
    ("tests/lab/test_x.py::test_y@tests/lab/test_w.py", "tests/lab/test_x.py"),
])
def test_a_node_id_names_its_module(nodeid: str, expected: str) -> None:
    assert module_of(nodeid) == expected


def test_recorded_durations_sum_each_modules_phases(tmp_path: Path) -> None:
    record: dict[str, float] = {}
    add_duration(record, "tests/b.py::t", 1.25)
    add_duration(record, "tests/b.py::t", 0.5)
    add_duration(record, "tests/a.py::t@tests/a.py", 2.0)
    write_durations(record, tmp_path / "d.json")
    assert (tmp_path / "d.json").read_text() == '{\n"tests/a.py": 2.0,\n"tests/b.py": 1.8\n}\n'


def test_a_partial_run_keeps_the_other_modules_figures(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_text('{"tests/a.py": 2.0, "tests/c.py": 9.0}')
    write_durations({"tests/a.py": 3.0, "tests/b.py": 1.0}, tmp_path / "d.json")
    assert (tmp_path / "d.json").read_text() == \
        '{\n"tests/a.py": 3.0,\n"tests/b.py": 1.0,\n"tests/c.py": 9.0\n}\n'
