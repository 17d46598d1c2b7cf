"""`nodelab doctor` tells the truth as root and as an ordinary user."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from nodelab.host.doctor import diagnose, lab_ready
from tests.conftest import needs_root

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def doctor_json(prefix: list[str]) -> dict[str, dict[str, object]]:
    result = subprocess.run(
        [*prefix, sys.executable, "-m", "nodelab", "doctor", "--json"],
        capture_output=True, text=True, timeout=60, check=True, cwd="/",
        env={**os.environ, "HOME": "/tmp"},
    )
    data = json.loads(result.stdout)
    return {row["name"]: row for row in data["checks"]} | {"_": {"lab_ready": data["lab_ready"]}}


@pytest.mark.privileged
@needs_root
def test_as_root_every_capability_a_lab_needs_is_found() -> None:
    findings = {f.name: f for f in diagnose()}
    for name in ("root", "netns", "veth", "bridge", "cgroups", "iptables", "nft", "runc",
                 "container monitor (conmon)", "docker-registry", "busybox-static",
                 "graphviz dot"):
        assert findings[name].ok, findings[name]
    assert lab_ready(list(findings.values()))
    assert "nf_tables" in findings["iptables"].detail or "legacy" in findings["iptables"].detail


@pytest.mark.privileged
@needs_root
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) not installed")
def test_as_an_ordinary_user_doctor_says_what_root_would_give() -> None:
    rows = doctor_json(NOBODY)
    assert rows["root"]["status"] == "missing"
    assert "uid 65534" in str(rows["root"]["detail"])
    assert "run as root" in str(rows["root"]["fix"])
    for name in ("netns", "veth", "bridge"):
        assert rows[name]["status"] == "missing", rows[name]
        assert rows[name]["disables"]
    assert rows["cgroups"]["status"] == "missing"
    assert rows["_"]["lab_ready"] is False
    # tools are still found: they do not depend on who asks
    assert rows["runc"]["status"] == "ok"


@pytest.mark.unit
def test_every_missing_row_says_what_it_disables_and_how_to_fix_it() -> None:
    for finding in diagnose():
        if not finding.ok:
            assert finding.disables, finding
            assert finding.fix, finding


def test_cli_text_report_lists_every_check() -> None:
    result = subprocess.run([sys.executable, "-m", "nodelab", "doctor"], capture_output=True,
                            text=True, timeout=60, check=True)
    for name in ("runc", "docker-registry", "IPVS", "dummy links", "Docker", "kind"):
        assert name in result.stdout
