"""Deferred imports: a costly module is imported at its first use, and behaves the same.

`nodelab.deferred_imports` stands in for `rfc3987_syntax` (0.9 s of CPU at import in every
process that imports the official client); jsonschema's "iri" check must still give the real
module's answers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodelab.deferred_imports import defer

pytestmark = pytest.mark.unit

IRIS = ["http://example.com/ä?q=1#frag", "urn:isbn:0451450523", "no spaces allowed",
        "http://[::1]:80/", "//relative/only", "", "http://example.com/%zz"]

CHECK = f"""
import json, sys
import jsonschema
checker = jsonschema.Draft7Validator.FORMAT_CHECKER
print(json.dumps({{"lark_before": "lark" in sys.modules,
                  "answers": [checker.conforms(iri, check) for iri in {IRIS!r}
                              for check in ("iri", "iri-reference")],
                  "lark_after": "lark" in sys.modules}}))
"""


def run(first: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", first + CHECK], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    result: dict[str, object] = json.loads(out.splitlines()[-1])
    return result


def test_the_official_client_imports_without_building_the_iri_grammar() -> None:
    code = ("import sys, nodelab, kubernetes\n"
            "print('lark' in sys.modules, type(sys.modules['rfc3987_syntax']).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    assert out == ["False", "_StandIn"]


def test_the_iri_check_answers_as_the_real_module_once_used() -> None:
    deferred = run("import nodelab\n")
    real = run("")
    assert real["lark_before"] is True
    assert deferred["lark_before"] is False
    assert deferred["answers"] == real["answers"]
    assert True in real["answers"] and False in real["answers"]  # type: ignore[operator]
    assert deferred["lark_after"] is True


def made_module(tmp_path: Path, kind: str) -> Iterator[tuple[str, Path]]:
    """A package (with a submodule `part`) or a single-file module on sys.path that counts its
    imports in a file: (its name, that file); gone from sys.path and sys.modules after."""
    name = f"nodelab_test_costly_{tmp_path.name.replace('-', '_')}"
    count = tmp_path / "imports"
    source = (f"with open({str(count)!r}, 'a') as f:\n    f.write('x')\n"
              "CONSTANT = 3\n"
              "def double(x):\n    return 2 * x\n")
    if kind == "package":
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(source)
        (tmp_path / name / "part.py").write_text("PART = 'part'\n")
    else:
        (tmp_path / f"{name}.py").write_text(source)
    sys.path.insert(0, str(tmp_path))
    try:
        yield name, count
    finally:
        sys.path.remove(str(tmp_path))
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]


@pytest.fixture(params=["package", "single file"])
def costly_module(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    yield from made_module(tmp_path, request.param)


@pytest.fixture
def costly_package(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    yield from made_module(tmp_path, "package")


def imports(count: Path) -> int:
    return len(count.read_text()) if count.exists() else 0


def test_a_deferred_module_is_imported_once_at_first_use(costly_module: tuple[str, Path]) -> None:
    name, count = costly_module
    assert defer(name, ("double",)) is True
    namespace: dict[str, object] = {}
    exec(f"from {name} import double", namespace)
    assert imports(count) == 0
    assert namespace["double"](21) == 42  # type: ignore[operator]
    assert imports(count) == 1
    assert sys.modules[name].CONSTANT == 3
    assert imports(count) == 1


def test_a_submodule_imported_before_first_use_is_on_the_real_module(
        costly_package: tuple[str, Path]) -> None:
    name, count = costly_package
    defer(name, ("double",))
    namespace: dict[str, object] = {}
    exec(f"import {name}.part", namespace)
    assert imports(count) == 0
    assert sys.modules[name].double(2) == 4
    assert sys.modules[name].part.PART == "part"


def test_any_other_attribute_imports_it(costly_module: tuple[str, Path]) -> None:
    name, count = costly_module
    defer(name, ("double",))
    stand_in = sys.modules[name]
    assert stand_in.CONSTANT == 3
    assert imports(count) == 1
    assert stand_in.double(1) == 2


@pytest.mark.parametrize("name", ["json", "nodelab_test_no_such_module"])
def test_nothing_changes_for_a_module_imported_already_or_not_installed(name: str) -> None:
    before = sys.modules.get(name)
    assert defer(name, ("loads",)) is False
    assert sys.modules.get(name) is before


def test_no_stand_in_when_what_the_module_imports_is_not_installed(
        costly_module: tuple[str, Path]) -> None:
    """A caller that skips the module on ImportError (jsonschema does) must still see that at
    its own import, not at its first check."""
    name, count = costly_module
    assert defer(name, ("double",), needs=("nodelab_test_no_such_module",)) is False
    assert name not in sys.modules
    assert imports(count) == 0
