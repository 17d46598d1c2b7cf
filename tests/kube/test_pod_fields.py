"""The pod-field table: complete against upstream's schema, honest about its evidence, and the
source of docs/pod-fields.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from nodelab.kube.pod.fields import REFUSED, SUPPORTED, TABLE, TYPES, refusals
from nodelab.kube.pod.fields_doc import render
from nodelab.kube.schema import upstream

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def test_every_schema_field_has_a_row() -> None:
    defs = upstream()
    missing = [f"{kind}.{name}" for kind in TYPES
               for name in defs.node(f"io.k8s.api.core.v1.{kind}").fields
               if f"{kind}.{name}" not in TABLE]
    assert missing == [], f"add these fields to nodelab/kube/pod/fields.py: {missing}"


def test_every_row_names_a_test_that_exists() -> None:
    for key, row in TABLE.items():
        assert row.status in (SUPPORTED, REFUSED), key
        file, _, name = row.evidence.partition("::")
        source = (ROOT / file).read_text()
        assert not name or re.search(rf"^def {re.escape(name)}\(", source, re.M), \
            f"{key}: {row.evidence} does not exist"


def test_the_doc_is_generated_from_the_table() -> None:
    assert (ROOT / "docs" / "pod-fields.md").read_text() == render(), \
        "docs/pod-fields.md is out of date: run scripts/pod-fields-doc"


@pytest.mark.parametrize(("spec", "expected"), [
    ({"containers": [{"name": "c"}]}, []),
    ({"hostUsers": True, "os": {"name": "linux"}, "containers": [
        {"name": "c", "terminationMessagePath": "/dev/termination-log",
         "terminationMessagePolicy": "File", "securityContext": {"procMount": "Default"}}]},
     []),
    ({"hostUsers": False, "runtimeClassName": "gvisor"},
     ["spec.hostUsers", "spec.runtimeClassName"]),
    ({"initContainers": [{"name": "i", "lifecycle": {"postStart": {"sleep": {"seconds": 1}},
                                                   "stopSignal": "SIGUSR1"},
                          "startupProbe": {"terminationGracePeriodSeconds": 3},
                          "volumeDevices": [{"name": "d", "devicePath": "/dev/x"}]}]},
     ["spec.initContainers[0].volumeDevices", "spec.initContainers[0].lifecycle.stopSignal"]),
    ({"volumes": [{"name": "a", "emptyDir": {"sizeLimit": "1Gi"}},
                  {"name": "b", "nfs": {"server": "s", "path": "/"}}]},
     ["spec.volumes[1].nfs"]),
    ({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{}]},
                   "podAntiAffinity": {"x": 1}}},
     []),  # pod (anti-)affinity is scheduled now
    ({"topologySpreadConstraints": [{"maxSkew": 1}]}, []),
    ({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}, []),
    ({"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}},
     ["spec.securityContext.appArmorProfile"]),
])
def test_refusals(spec: dict[str, Any], expected: list[str]) -> None:
    assert refusals(spec) == expected
