"""The process identity a container's status shows (status.containerStatuses[].user.linux,
the security-context page's supplementalGroupsPolicy example): the runtime reads it from the
OCI spec's process.user into CRI ContainerStatus.user, the kubelet copies what it is given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nodelab.cri import api_pb2 as cri
from nodelab.kubelet.pods.runtime_calls import linux_user
from nodelab.kubelet.pods.status import ContainerView, Instance, container_status
from nodelab.runtime.cri.convert import container_user, spec_user

pytestmark = pytest.mark.unit

STRICT = {"uid": 1000, "gid": 3000, "additionalGids": [3000, 4000]}


@pytest.mark.parametrize(("process_user", "expected"), [
    (STRICT, {"uid": 1000, "gid": 3000, "supplementalGroups": [3000, 4000]}),
    ({"uid": 0, "gid": 0}, {"uid": 0, "gid": 0, "supplementalGroups": []}),
])
def test_the_specs_user_reaches_the_api_shape(process_user: dict[str, Any],
                                              expected: dict[str, Any]) -> None:
    status = cri.ContainerStatus(user=container_user(process_user))
    assert linux_user(status) == expected


def test_a_runtime_that_reports_no_user_gives_none() -> None:
    assert linux_user(cri.ContainerStatus()) is None


def test_spec_user_reads_the_bundle(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"process": {"user": STRICT}}))
    assert spec_user(tmp_path / "config.json") == STRICT
    assert spec_user(tmp_path / "missing.json") is None


@pytest.mark.parametrize(("user", "shown"), [
    ({"uid": 1000, "gid": 3000, "supplementalGroups": [3000, 4000]},
     {"linux": {"uid": 1000, "gid": 3000, "supplementalGroups": [3000, 4000]}}),
    (None, None),
])
def test_container_status_shows_the_user_it_was_given(user: dict[str, Any] | None,
                                                      shown: dict[str, Any] | None) -> None:
    view = ContainerView(latest=Instance("c1", "c", 0, "running", user=user), ready=True)
    status = container_status({"name": "c", "image": "busybox"}, view, "nodelab")
    assert status.get("user") == shown
