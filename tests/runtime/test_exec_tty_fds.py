"""A tty exec's pty and runc pidfd outlive the exec until its stdin pump has ended.

The exec thread closed them as soon as runc exited while the pump could still turn a resize
message into TIOCSWINSZ on the pty and SIGWINCH through runc's pidfd: by then those fd numbers
could be another file's, another process's pidfd among them (that process signalled).
"""

from __future__ import annotations

import errno
import os
import pty
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any, cast

import pytest

from nodelab.runtime.streaming.server import RESIZE, StreamingServer
from nodelab.runtime.streaming.websocket import Connection

pytestmark = pytest.mark.unit

# exits 7 on SIGWINCH; on SIGRTMIN (delivered after any pending standard signal) exits 0
STRANGER = textwrap.dedent("""
    import signal, sys
    signal.signal(signal.SIGWINCH, lambda *_: sys.exit(7))
    signal.signal(signal.SIGRTMIN, lambda *_: sys.exit(0))
    print("ready", flush=True)
    while True:
        signal.pause()
""")


class Client:
    """The client side as the exec sees it: messages put in `incoming`, None once it left."""

    def __init__(self) -> None:
        self.incoming: queue.Queue[bytes | None] = queue.Queue()
        self.left = threading.Event()  # the pump has taken every message
        self.sent: list[bytes] = []

    def receive(self) -> bytes | None:
        message = self.incoming.get()
        if message is None:
            self.left.set()
        return message

    def send(self, payload: bytes) -> None:
        self.sent.append(payload)


def target(fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


class OpenedByTheExec:
    """The pty master and runc pidfd the exec opens (their numbers and what they are): other
    threads of the test session may open and close files of their own meanwhile."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fds: dict[int, str] = {}
        self.recording = False
        real_openpty, real_pidfd_open = pty.openpty, os.pidfd_open

        def openpty() -> tuple[int, int]:
            master, slave = real_openpty()
            if self.recording:
                self.fds[master] = target(master) or ""
            return master, slave

        def pidfd_open(pid: int, flags: int = 0) -> int:
            fd = real_pidfd_open(pid, flags)
            if self.recording:
                self.fds[fd] = target(fd) or ""
            return fd

        monkeypatch.setattr(pty, "openpty", openpty)
        monkeypatch.setattr(os, "pidfd_open", pidfd_open)

    def still_open(self) -> list[int]:
        return [fd for fd, what in self.fds.items() if target(fd) == what]


def test_a_resize_after_the_exec_ended_signals_nobody(monkeypatch: pytest.MonkeyPatch) -> None:
    errors: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    server = StreamingServer(cast(Any, None), cast(Any, None), cast(Any, None))
    client = Client()
    opened = OpenedByTheExec(monkeypatch)
    opened.recording = True
    assert server._exec_tty(cast(Connection, client), ["sh", "-c", "exit 3"], None) == 3
    opened.recording = False
    assert sorted(opened.fds.values()) == ["/dev/ptmx", "anon_inode:[pidfd]"]
    stranger = subprocess.Popen([sys.executable, "-c", STRANGER], stdout=subprocess.PIPE)
    assert stranger.stdout is not None
    pidfds: list[int] = []
    try:
        assert stranger.stdout.readline() == b"ready\n"
        pidfds = [os.pidfd_open(stranger.pid) for _ in range(16)]  # any number the exec freed
        client.incoming.put(bytes([RESIZE]) + b'{"Width": 100, "Height": 40}')
        client.incoming.put(None)
        assert client.left.wait(10), "the exec's stdin pump did not read the client's messages"
        signal.pidfd_send_signal(pidfds[0], signal.SIGRTMIN)
        assert stranger.wait(10) == 0, "the resize signalled another process (SIGWINCH)"
    finally:
        stranger.kill()
        stranger.wait()
        stranger.stdout.close()
        for fd in pidfds:
            os.close(fd)
    assert errors == []
    deadline = time.monotonic() + 10
    while opened.still_open():  # the pty and the pidfd, closed once the pumps ended
        assert time.monotonic() < deadline, f"the exec left {opened.still_open()} open"
        time.sleep(0.01)


def test_a_tty_exec_runs_without_pidfds(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel or seccomp filter without pidfd_open: the exec runs and ends as before (only a
    resize reaches nobody but the pty), with runc waited for and the pty closed."""
    def no_pidfds(pid: int, flags: int = 0) -> int:
        raise OSError(errno.ENOSYS, "Function not implemented")
    opened = OpenedByTheExec(monkeypatch)
    monkeypatch.setattr(os, "pidfd_open", no_pidfds)
    server = StreamingServer(cast(Any, None), cast(Any, None), cast(Any, None))
    client = Client()
    opened.recording = True
    assert server._exec_tty(cast(Connection, client), ["sh", "-c", "exit 5"], None) == 5
    opened.recording = False
    client.incoming.put(bytes([RESIZE]) + b'{"Width": 100, "Height": 40}')
    client.incoming.put(None)
    assert client.left.wait(10)
    deadline = time.monotonic() + 10
    while opened.still_open():
        assert time.monotonic() < deadline, f"the exec left {opened.still_open()} open"
        time.sleep(0.01)
    assert list(opened.fds.values()) == ["/dev/ptmx"]
