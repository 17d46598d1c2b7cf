"""Upstream's own strategic merge patch test cases, applied by nodelab's implementation.

The cases come from k8s.io/apimachinery pkg/util/strategicpatch/patch_test.go (extracted by
scripts/fetch-strategicpatch-tests, with the schema they run against). Upstream checks two
things per case: that the client computes the expected patch, and that applying it gives the
expected object. The API server only applies patches, so each case here applies the two-way
patch to `original` (expecting `twoWayResult`, else `modified`) and the three-way patch to
`current` (expecting `result`), compared exactly as upstream compares them: lists of the
YAML tables sorted by merge key first (`sortMergeListsByName`), raw cases as written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from nodelab.controlplane.errors import ApiError
from nodelab.controlplane.registry import strategicpatch
from nodelab.kube.schema import Definitions, Node

pytestmark = pytest.mark.unit

DATA = Path(__file__).parent / "data" / "strategicpatch"
CASES = json.loads((DATA / "cases.json").read_text())
# upstream's file has a trailing comma (its loader reads YAML, a superset of JSON)
SCHEMA = Definitions(yaml.safe_load((DATA / "swagger-merge-item.json").read_text())["definitions"])


def _go_string(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None:
        return "<nil>"
    return str(value)


def _sort(value: Any, node: Node | None) -> Any:
    """`sortMergeListsByName`: merge lists sorted by merge key, scalars deduplicated+sorted."""
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for key, child in value.items():
        if key == "$retainKeys" or key.startswith("$deleteFromPrimitiveList"):
            child = sorted(child, key=_go_string)
        elif not key.startswith("$setElementOrder") and key != "$patch":
            sub = node.field(key) if node is not None else None
            if isinstance(child, dict):
                child = _sort(child, sub)
            elif isinstance(child, list) and sub is not None and (
                    "merge" in sub.patch_strategies) and child:
                if isinstance(child[0], dict):
                    items = sub.items
                    child = sorted((_sort(c, items) for c in child),
                                   key=lambda c: _go_string(c.get(sub.patch_merge_key)))
                else:
                    child = sorted(dict.fromkeys(child), key=_go_string)
        result[key] = child
    return result


def _applications(name: str, sort: bool) -> list[Any]:
    found = []
    for case in CASES[name]:
        error = case.get("expectedError", "")
        if case.get("twoWay") is not None:
            expected = case.get("twoWayResult") or case.get("modified")
            found.append(pytest.param(case.get("original"), case["twoWay"], expected, error,
                                      sort, id=f"{name}: {case['description']} (two-way)"))
        if case.get("threeWay") is not None and case.get("result"):
            found.append(pytest.param(case.get("current"), case["threeWay"], case["result"],
                                      error, sort,
                                      id=f"{name}: {case['description']} (three-way)"))
    return found


APPLICATIONS = (_applications("create", True) + _applications("custom", True)
                + _applications("raw", False) + _applications("customRaw", False))


def test_the_upstream_cases_were_extracted() -> None:
    assert len(APPLICATIONS) > 200


@pytest.mark.parametrize(("original", "patch", "expected", "error", "sort"), APPLICATIONS)
def test_upstream_case(original: Any, patch: Any, expected: Any, error: str,
                       sort: bool) -> None:
    schema = SCHEMA.node("mergeItem")
    if sort:
        original, patch, expected = (_sort(v or {}, schema) for v in (original, patch, expected))
    if error:
        with pytest.raises(ApiError, match=error):
            strategicpatch.apply(original or {}, patch, schema)
        return
    result = strategicpatch.apply(original or {}, patch, schema)
    assert json.dumps(result, sort_keys=True) == json.dumps(expected or {}, sort_keys=True)
