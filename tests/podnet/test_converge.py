"""podnet's loop: a wake runs one sync, a failed sync is retried without a new change, and a
stop ends the loop."""

from __future__ import annotations

import logging
import threading

import pytest

from nodelab.podnet import converge as loop

pytestmark = pytest.mark.unit


def test_a_failed_sync_is_retried_and_stop_ends_the_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loop, "RETRY", 0.01)
    wake, stop, done = threading.Event(), threading.Event(), threading.Event()
    calls: list[int] = []

    def sync() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("the API server is away")
        done.set()

    thread = threading.Thread(target=loop.converge,
                              args=(wake, stop, sync, logging.getLogger("test"), "test"))
    thread.start()
    wake.set()  # one change
    assert done.wait(10), "the failed sync was not retried"
    assert calls == [0, 1]
    stop.set()
    wake.set()
    thread.join(10)
    assert not thread.is_alive()
    assert calls == [0, 1]  # the wake that came with the stop ran no sync
