"""The course's presentation helpers: the plan-only switch, waiting, and the loopback control
plane (a real API server, scheduler and controllers on 127.0.0.1, no privileges needed)."""

from __future__ import annotations

import json
import os

import pytest

from nodelab.course import (
    FORCE_PLAN_ONLY,
    PLAN_ONLY,
    LoopbackControlPlane,
    can_apply,
    describe_privileges,
    eventually,
    kubectl,
    kubectl_json,
    show_plan,
)
from nodelab.errors import NodelabError


@pytest.mark.unit
def test_plan_only_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FORCE_PLAN_ONLY, raising=False)
    assert can_apply() == (os.geteuid() == 0)
    monkeypatch.setenv(FORCE_PLAN_ONLY, "1")
    assert not can_apply()
    monkeypatch.setenv(FORCE_PLAN_ONLY, "0")
    assert can_apply() == (os.geteuid() == 0)


@pytest.mark.unit
def test_a_plan_is_labelled_as_not_applied(capsys: pytest.CaptureFixture[str]) -> None:
    text = show_plan("CNI ADD", {"plugin": "bridge"})
    assert text.startswith(f"== {PLAN_ONLY}: CNI ADD ==")
    assert json.loads(text.split("\n", 1)[1]) == {"plugin": "bridge"}
    assert capsys.readouterr().out.strip() == text


@pytest.mark.unit
def test_eventually_returns_the_first_true_value_or_says_what_it_saw() -> None:
    values = iter([0, [], "done"])
    assert eventually(lambda: next(values), timeout=5, every=0.01) == "done"
    with pytest.raises(NodelabError, match=r"the lease was not true after 0s \(last: ''\)"):
        eventually(lambda: "", timeout=0.05, every=0.01, what="the lease")


def test_loopback_control_plane_serves_kubectl_and_leaves_nothing() -> None:
    control_plane = LoopbackControlPlane.start()
    try:
        assert control_plane.url.startswith("https://127.0.0.1:")
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node1"}}
        kubectl(control_plane.kubeconfig, "create", "-f", "-", input=json.dumps(node))
        names = [n["metadata"]["name"]
                 for n in kubectl_json(control_plane.kubeconfig, "get", "nodes")["items"]]
        assert names == ["node1"]
    finally:
        control_plane.stop()
    assert not control_plane.state_dir.exists()


@pytest.mark.unit
def test_the_privileges_line_names_the_euid_and_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORCE_PLAN_ONLY, "1")
    assert describe_privileges() == (
        f"kernel euid {os.geteuid()} ({FORCE_PLAN_ONLY} is set): no privileges here, "
        "the privileged steps show their plans")
    monkeypatch.delenv(FORCE_PLAN_ONLY)
    expected = "this host can run a lab" if os.geteuid() == 0 else "(not root): no privileges"
    assert expected in describe_privileges()


@pytest.mark.unit
def test_plan_only_lines_point_at_the_notebooks_reference_outputs(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(FORCE_PLAN_ONLY, "1")
    page = "docs/reference/03-cni-wiring.html"
    assert describe_privileges("03-cni-wiring").endswith(
        f"what they do on a root run: {page} (this notebook's reference outputs)")
    assert show_plan("ip link add", "veth") == \
        f"== PLAN ONLY (not applied): ip link add (applied on a root run: {page}) ==\nveth"
    describe_privileges()  # a notebook that does not name itself: no link
    assert show_plan("ip link add", "veth") == "== PLAN ONLY (not applied): ip link add ==\nveth"
