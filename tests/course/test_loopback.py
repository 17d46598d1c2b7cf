"""The unprivileged lab mode from a terminal: `python -m nodelab.lab.loopback` serves a real
control plane on 127.0.0.1 until it is stopped, then removes its state."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from nodelab.course import kubectl


def test_loopback_module_serves_until_stopped_and_leaves_nothing() -> None:
    served = subprocess.Popen([sys.executable, "-m", "nodelab.lab.loopback"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert served.stdout is not None
        banner = served.stdout.readline()
        assert banner.startswith("API server, scheduler and controllers on https://127.0.0.1:")
        hint = served.stdout.readline().split()
        assert hint[:2] == ["kubectl", "--kubeconfig"]
        kubeconfig = Path(hint[2])
        assert "default" in kubectl(kubeconfig, "get", "namespaces")
    finally:
        served.send_signal(signal.SIGTERM)
        code = served.wait(timeout=30)
    assert code == 0
    assert not kubeconfig.parent.exists(), "the loopback control plane left its state dir"
