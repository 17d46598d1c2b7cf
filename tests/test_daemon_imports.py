"""What each daemon's process loads at start: not the heavy modules it does not need.

Every Python daemon of a lab pays for what it imports in its own memory (issue #22: the
official client alone cost 50-65 MiB a process). Each case starts a fresh interpreter that
imports the daemon's entry module, as `python -m` does, and lists the heavy modules loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

# the official client (~650 modules), kubernetes-validate (its jsonschema builds lark grammars
# at import), and what only some code paths of a daemon need
OFFICIAL = ("kubernetes", "kubernetes_validate", "jsonschema", "lark")
CASES = [
    ("nodelab.kubelet.__main__", (*OFFICIAL, "cryptography", "wsproto")),
    ("nodelab.controlplane.controllers.__main__", (*OFFICIAL, "jwt", "jsonpatch")),
    ("nodelab.controlplane.__main__", OFFICIAL),
    ("nodelab.proxy.__main__", (*OFFICIAL, "cryptography")),
    ("nodelab.podnet.__main__", OFFICIAL),
]


def loaded(entry: str, modules: tuple[str, ...], then: str = "") -> list[str]:
    code = (f"import sys, json, {entry}\n{then}\n"
            f"print(json.dumps([m for m in {modules!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    found: list[str] = json.loads(out.splitlines()[-1])
    return found


@pytest.mark.parametrize(("entry", "heavy"), CASES)
def test_a_daemon_starts_without_modules_it_does_not_need(entry: str,
                                                          heavy: tuple[str, ...]) -> None:
    assert loaded(entry, heavy) == []


def test_upstream_schemas_load_without_kubernetes_validate_code() -> None:
    then = "from nodelab.kube import schema; assert schema.for_kind('apps', 'v1', 'Deployment')"
    assert loaded("nodelab.kube.schema", OFFICIAL, then) == []
