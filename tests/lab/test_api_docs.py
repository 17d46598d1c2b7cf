"""docs/api.md stays true: every example in it runs, in order, against a real lab; and every
public method of the scripting face has an example there."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from nodelab.lab.lab import known_labs, take_down_lab
from nodelab.lab.scripting.face import LabScripting
from nodelab.lab.scripting.lab_node import LabNode
from tests.conftest import needs_root, unique_lab_name

API_MD = Path(__file__).parents[2] / "docs" / "api.md"
DOC_LAB = '"script"'  # the examples' lab name; each run uses a name of its own


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", API_MD.read_text(), re.S)


@pytest.mark.unit
def test_every_public_method_of_the_face_has_an_example() -> None:
    text = "".join(examples())
    public = [name for cls in (LabScripting, LabNode)
              for name, _ in inspect.getmembers(cls, inspect.isfunction)
              if not name.startswith("_")]
    public += ["up", "get", "status", "down"]
    missing = [name for name in public if not re.search(rf"\.{name}\(", text)]
    assert not missing, f"docs/api.md has no example of {missing}"


@needs_root
@pytest.mark.privileged
@pytest.mark.slow
def test_the_examples_run_against_a_real_lab(capsys: pytest.CaptureFixture[str]) -> None:
    name = unique_lab_name()
    blocks = examples()
    assert blocks and DOC_LAB in blocks[0]
    namespace: dict[str, Any] = {}
    try:
        for number, block in enumerate(blocks, 1):
            code = compile(block.replace(DOC_LAB, repr(name)), f"docs/api.md example {number}",
                           "exec")
            exec(code, namespace)  # noqa: S102 - the documentation's own examples
        out = capsys.readouterr().out
        assert f"{name}: " in out and "lab nosuch is not up" in out
        assert "hello" in out and "10.244." in out and "kubelet" in out
        assert name not in known_labs()  # the last example took it down
    finally:
        take_down_lab(name)
