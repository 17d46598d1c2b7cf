"""The lab's node monitor grace period: kube-controller-manager's --node-monitor-grace-period,
set at `up` or changed on a running lab (as a kubeadm user edits the controllers' manifest).

Pure parts (the controllers' command, lab.json, `up`'s settings, the CLI) as unit tests; one
real lab proves the controllers run with the flag and a stopped kubelet's node turns Unknown
no sooner than that grace period after its last heartbeat, then Ready again.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from pathlib import Path

import pytest

from nodelab.cli import build_parser
from nodelab.controlplane.auth.pki import PKI, Credentials
from nodelab.errors import NodelabError
from nodelab.lab.description import LabDescription
from nodelab.lab.lab import Lab
from nodelab.lab.paths import LabPaths
from nodelab.lab.settings.up import NODE_MONITOR_GRACE, UpSettings, conflicts
from nodelab.lab.up.controlplane import controllers_spec
from tests.conftest import needs_root
from tests.lab.kube import eventually, kubectl_json

FLAG = "--node-monitor-grace-period"


def _pki(root: Path) -> PKI:
    admin = Credentials("admin", root / "admin.crt", root / "admin.key")
    return PKI(root, root / "ca.crt", root / "ca.key", root / "server.crt", root / "server.key",
               admin, root / "sa.key")


@pytest.mark.unit
@pytest.mark.parametrize("grace, flag", [(None, None), (20.0, "20"), (90.5, "90.5")])
def test_the_controllers_get_the_flag_only_when_the_lab_sets_one(
        tmp_path: Path, grace: float | None, flag: str | None) -> None:
    argv = controllers_spec(LabPaths.for_lab("l", tmp_path), _pki(tmp_path), grace).argv
    if flag is None:
        assert FLAG not in argv
    else:
        assert argv[argv.index(FLAG) + 1] == flag


@pytest.mark.unit
def test_lab_json_keeps_the_grace_period_and_reads_files_from_before_it(tmp_path: Path) -> None:
    path = tmp_path / "lab.json"
    LabDescription("l", ipaddress.IPv4Network("172.29.5.0/24"), 1,
                   node_monitor_grace_period=20.0).save(path)
    loaded = LabDescription.load(path)
    assert loaded is not None and loaded.node_monitor_grace_period == 20.0
    data = json.loads(path.read_text())
    del data["node_monitor_grace_period"]
    path.write_text(json.dumps(data))
    older = LabDescription.load(path)
    assert older is not None and older.node_monitor_grace_period is None


@pytest.mark.unit
def test_up_refuses_a_different_grace_period_and_says_how_to_change_it() -> None:
    lab = dict(nodes=1, proxy_mode="iptables", max_restart_backoff=None, runtime="nodelab")
    assert conflicts("l", UpSettings(node_monitor_grace_period=50.0), **lab,  # type: ignore[arg-type]
                     node_monitor_grace_period=None) == []
    assert conflicts("l", UpSettings(), **lab, node_monitor_grace_period=20.0) == []  # type: ignore[arg-type]
    found = conflicts("l", UpSettings(node_monitor_grace_period=30.0), **lab,  # type: ignore[arg-type]
                      node_monitor_grace_period=20.0)
    assert found == ["a node monitor grace period of 20s, not 30s (a running lab changes it "
                     "with Lab.set_node_monitor_grace_period)"]


@pytest.mark.unit
@pytest.mark.parametrize("seconds", [10.0, 19.9, 601.0, 0.0, -5.0])
def test_a_grace_period_outside_20s_to_10m_is_refused_saying_why(seconds: float) -> None:
    with pytest.raises(NodelabError, match="must be 20s to 600s"):
        NODE_MONITOR_GRACE.check(seconds)


@pytest.mark.unit
def test_nodelab_up_takes_the_grace_period_as_a_duration() -> None:
    args = build_parser().parse_args(["up", "--node-monitor-grace-period", "1m"])
    assert args.node_monitor_grace_period == 60.0
    assert build_parser().parse_args(["up"]).node_monitor_grace_period is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["up", "--node-monitor-grace-period", "5s"])


def _ready(lab: Lab) -> dict[str, str]:
    node = kubectl_json(lab, "get", "node", "node1")
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")


def _taints(lab: Lab) -> set[str]:
    node = kubectl_json(lab, "get", "node", "node1")
    return {f"{t['key']}:{t['effect']}" for t in node["spec"].get("taints") or []}


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.privileged
@needs_root
def test_a_running_lab_changes_the_grace_period_its_node_lifecycle_controller_uses(
        lab: Lab) -> None:
    status = lab.set_node_monitor_grace_period(20)
    assert status.state == "running"
    argv = json.loads(lab.paths.pidfile("controllers").read_text())["argv"]
    assert argv[argv.index(FLAG) + 1] == "20"
    saved = LabDescription.load(lab.paths.description)
    assert saved is not None and saved.node_monitor_grace_period == 20.0
    Lab.up(lab.name)  # a later `up` keeps it (nothing given, nothing different)
    with pytest.raises(NodelabError, match="node monitor grace period of 20s, not 30s"):
        Lab.up(lab.name, node_monitor_grace_period=30)

    lab.stop_daemon("kubelet", node="node1")
    unknown = eventually(lambda: (r := _ready(lab))["status"] == "Unknown" and r, timeout=90)
    assert unknown["reason"] == "NodeStatusUnknown"
    lease = kubectl_json(lab, "-n", "kube-node-lease", "get", "lease", "node1")
    silent = _time(unknown["lastTransitionTime"]) - _time(lease["spec"]["renewTime"])
    # not before the grace period (a condition's time is in whole seconds: 1 s of truncation)
    assert silent >= dt.timedelta(seconds=19), f"Unknown {silent} after the last renewal"
    # the controller writes the condition, then (in the same pass) the taints
    eventually(lambda: "node.kubernetes.io/unreachable:NoSchedule" in _taints(lab), timeout=30)
    # its only node is down: the controller suspects itself ("master disruption mode") and
    # puts no NoExecute taint, so nothing is evicted (the two-node case: test_node_unreachable)
    assert "node.kubernetes.io/unreachable:NoExecute" not in _taints(lab)

    lab.start_daemon("kubelet", node="node1")
    eventually(lambda: _ready(lab)["status"] == "True", timeout=60)
    eventually(lambda: not any(t.startswith("node.kubernetes.io/unreachable")
                               for t in _taints(lab)), timeout=30)
    lab.set_node_monitor_grace_period(None)
    argv = json.loads(lab.paths.pidfile("controllers").read_text())["argv"]
    assert FLAG not in argv
