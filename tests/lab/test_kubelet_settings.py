"""The lab's kubelet settings: a KubeletConfiguration fragment at `up`, or changed on a running
lab (as a kubeadm user edits each node's kubelet config file and restarts the kubelet).

Pure parts (the checks, the config file, lab.json, `up`'s settings, the CLI) as unit tests;
one real lab proves each kubelet restarts with the fragment and without it again.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

from nodelab.cli import build_parser
from nodelab.errors import NodelabError
from nodelab.kube.quantities import parse_quantity
from nodelab.kubelet.config import KubeletConfig
from nodelab.lab.description import LabDescription
from nodelab.lab.lab import Lab
from nodelab.lab.settings.kubelet import check_kubelet_config, kubelet_config_lines
from nodelab.lab.settings.up import UpSettings, conflicts
from nodelab.lab.up.node_daemons import kubelet_config_text
from tests.conftest import needs_root
from tests.lab.kube import eventually, kubectl_json

PRESSURE = {"evictionHard": {"memory.available": "2Gi"},
            "evictionPressureTransitionPeriod": "30s"}


@pytest.mark.unit
def test_the_fragment_follows_the_labs_lines_and_the_kubelet_reads_both(tmp_path: Path) -> None:
    text = kubelet_config_text("/nodelab/l/node1", 10.0, ("10.96.0.10",)) \
        + kubelet_config_lines(check_kubelet_config(PRESSURE))
    path = tmp_path / "kubelet-config.yaml"
    path.write_text(text)
    config = KubeletConfig.load(path)
    assert config.eviction_hard == {"memory.available": "2Gi"}  # as upstream: replaced whole
    assert config.eviction_pressure_transition_period == 30.0
    assert config.cgroup_root == "/nodelab/l/node1" and config.crash_loop_back_off_max == 10.0
    assert kubelet_config_lines(None) == "" and kubelet_config_lines({}) == ""


@pytest.mark.unit
@pytest.mark.parametrize(("fragment", "error"), [
    ({"cgroupRoot": "/"}, "'cgroupRoot' is the lab's to set"),
    ({"crashLoopBackOff": {"maxContainerRestartPeriod": "10s"}}, "max_restart_backoff"),
    ({"authentication": {"anonymous": {"enabled": True}}}, "'authentication' is the lab's"),
    ({"port": 10251}, "'port' is the lab's"),
    ({"evictionHrad": {"memory.available": "1Gi"}}, "unknown kubelet config field 'evictionHrad'"),
    ({"evictionHard": {"memory.avail": "1Gi"}}, "unknown eviction signal 'memory.avail'"),
    ({"evictionHard": {"memory.available": "lots"}}, "lots"),
    ({"evictionPressureTransitionPeriod": "soon"}, "invalid duration 'soon'"),
    ({"kind": "KubeProxyConfiguration"}, "not KubeletConfiguration"),
    (["evictionHard"], "a mapping of KubeletConfiguration fields"),
])
def test_a_fragment_the_kubelet_would_refuse_is_refused_by_name(fragment: Any,
                                                                error: str) -> None:
    with pytest.raises(NodelabError, match=error):
        check_kubelet_config(fragment)


@pytest.mark.unit
def test_a_whole_document_is_a_fragment_and_none_is_none() -> None:
    document = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                "maxPods": 20}
    assert check_kubelet_config(document) == {"maxPods": 20}
    assert check_kubelet_config(None) is None


@pytest.mark.unit
def test_lab_json_keeps_the_fragment_and_reads_files_from_before_it(tmp_path: Path) -> None:
    path = tmp_path / "lab.json"
    LabDescription("l", ipaddress.IPv4Network("172.29.9.0/24"), 1,
                   kubelet_config=PRESSURE).save(path)
    loaded = LabDescription.load(path)
    assert loaded is not None and loaded.kubelet_config == PRESSURE
    data = json.loads(path.read_text())
    del data["kubelet_config"]
    path.write_text(json.dumps(data))
    older = LabDescription.load(path)
    assert older is not None and older.kubelet_config is None


@pytest.mark.unit
def test_up_with_another_fragment_than_the_labs_is_a_conflict() -> None:
    lab: dict[str, Any] = {"nodes": 1, "proxy_mode": "iptables", "max_restart_backoff": None,
                           "runtime": "nodelab"}
    assert conflicts("l", UpSettings(), **lab, kubelet_config=PRESSURE) == []
    assert conflicts("l", UpSettings(kubelet_config={}), **lab, kubelet_config=None) == []
    assert conflicts("l", UpSettings(kubelet_config=PRESSURE), **lab,
                     kubelet_config=PRESSURE) == []
    found = conflicts("l", UpSettings(kubelet_config={"maxPods": 20}), **lab,
                      kubelet_config=PRESSURE)
    assert len(found) == 1 and "Lab.set_kubelet_config" in found[0]


@pytest.mark.unit
def test_the_cli_reads_a_kubelet_config_file(tmp_path: Path) -> None:
    good = tmp_path / "kubelet.yaml"
    good.write_text("evictionHard:\n  memory.available: 2Gi\n")
    args = build_parser().parse_args(["up", "--kubelet-config", str(good)])
    assert args.kubelet_config == {"evictionHard": {"memory.available": "2Gi"}}
    assert build_parser().parse_args(["up"]).kubelet_config is None
    bad = tmp_path / "bad.yaml"
    bad.write_text("cgroupRoot: /\n")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["up", "--kubelet-config", str(bad)])


def _max_pods(lab: Lab) -> str:
    return str(kubectl_json(lab, "get", "node", "node1")["status"]["capacity"]["pods"])


def _memory_held(lab: Lab) -> int:
    """Capacity less allocatable memory: the hard eviction threshold (no reservations here)."""
    status = kubectl_json(lab, "get", "node", "node1")["status"]
    return parse_quantity(status["capacity"]["memory"]) - parse_quantity(
        status["allocatable"]["memory"])


@pytest.mark.privileged
@needs_root
def test_a_running_labs_kubelets_restart_with_the_fragment_and_without_it(lab: Lab) -> None:
    fragment = {"maxPods": 17, "evictionHard": {"memory.available": "1Gi"}}
    statuses = lab.set_kubelet_config(fragment)
    assert [s.state for s in statuses] == ["running"]
    config = (lab.paths.node("node1") / "kubelet-config.yaml").read_text()
    assert "maxPods: 17" in config and "cgroupRoot:" in config
    eventually(lambda: _max_pods(lab) == "17", timeout=60)
    # allocatable follows the raised threshold (upstream: capacity - reserved - threshold)
    assert _memory_held(lab) == 1 << 30
    saved = LabDescription.load(lab.paths.description)
    assert saved is not None and saved.kubelet_config == fragment
    Lab.up(lab.name)  # a later `up` keeps it (nothing given, nothing different)
    with pytest.raises(NodelabError, match="Lab.set_kubelet_config"):
        Lab.up(lab.name, kubelet_config={"maxPods": 18})
    lab.set_kubelet_config(None)
    eventually(lambda: _max_pods(lab) == "110", timeout=60)
    assert _memory_held(lab) == 100 << 20  # upstream's default memory.available<100Mi
