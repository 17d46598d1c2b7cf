"""The daemons' shared entry conventions (nodelab/host/daemon.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from nodelab.errors import NodelabError
from nodelab.host.daemon import refuse_to_start, stop_signals

pytestmark = pytest.mark.unit


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signals_sets_the_event_and_calls_on_stop(signum: int,
                                                       restored_handlers: None) -> None:
    called: list[bool] = []
    stop = stop_signals(on_stop=lambda: called.append(True))
    assert not stop.is_set()
    os.kill(os.getpid(), signum)
    assert stop.wait(5)
    assert called == [True]


def test_refuse_to_start_prints_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert refuse_to_start("kubelet", NodelabError("cannot load kubeconfig /x: no such file")) == 1
    assert capsys.readouterr().err == "kubelet: cannot load kubeconfig /x: no such file\n"


def test_setup_logging_writes_component_level_and_logger_on_stdout() -> None:
    code = ("from nodelab.host.daemon import setup_logging; import logging; "
            "setup_logging('runtime', 'info'); logging.getLogger('nodelab.runtime').info('up')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.rstrip().endswith(" runtime INFO nodelab.runtime: up")
    assert out.stderr == ""
