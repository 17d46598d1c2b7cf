"""Status tells the truth about the network: NetworkReady is false until a CNI config exists."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nodelab.cri import api_pb2 as cri
from nodelab.lab.cri_harness.endpoint import REPO, Endpoint, cni_conflist, stop_process, wait_socket

from .privileges import need_root

pytestmark = [pytest.mark.privileged]


def test_network_ready_follows_the_cni_conf_dir(tmp_path: Path) -> None:
    need_root()
    conf = tmp_path / "cni"
    conf.mkdir()
    socket = tmp_path / "cri.sock"
    uid = os.urandom(2).hex()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nodelab.runtime", "--state-dir", str(tmp_path / "state"),
         "--socket", str(socket), "--cni-conf-dir", str(conf),
         "--cgroup-root", f"nodelab/nlt{uid}", "--netns-prefix", f"nlt{uid}"],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        wait_socket(socket, proc)
        endpoint = Endpoint("nodelab", socket, uid, "", tmp_path)
        rt = endpoint.runtime_stub()

        def conditions() -> dict[str, cri.RuntimeCondition]:
            status = rt.Status(cri.StatusRequest(), timeout=10).status
            return {c.type: c for c in status.conditions}

        before = conditions()
        assert before["RuntimeReady"].status is True
        assert before["NetworkReady"].status is False
        assert before["NetworkReady"].reason == "NetworkPluginNotReady"
        assert "no network config" in before["NetworkReady"].message
        (conf / "10-pods.conflist").write_text(json.dumps(cni_conflist(uid, tmp_path)))
        assert conditions()["NetworkReady"].status is True
        version = rt.Version(cri.VersionRequest(), timeout=10)
        assert (version.runtime_name, version.runtime_api_version) == ("nodelab", "v1")
    finally:
        stop_process(proc)
