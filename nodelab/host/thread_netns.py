"""Entering a network namespace from one thread only: setns(2) on the calling thread.

A Linux thread has namespaces of its own, so a thread can enter a pod's network namespace,
create what must live there (a socket, a child process: `ip`, started from that thread, runs in
the pod's namespace), and switch back, while the process's other threads stay where they are.
This replaces `nsenter --net=<path> -- <command>` (one exec less per command) in long-running
daemons: the CNI daemon's plugin calls and the runtime's port-forward.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


@contextmanager
def thread_in_netns(netns_path: str) -> Iterator[None]:
    """Run the block with this thread in the network namespace at `netns_path` (a file such as
    /var/run/netns/<name> or /proc/<pid>/ns/net); back in its own namespace afterwards."""
    own = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
    try:
        target = os.open(netns_path, os.O_RDONLY)
        try:
            if _libc.setns(target, CLONE_NEWNET) != 0:
                errno = ctypes.get_errno()
                raise OSError(errno, f"cannot enter network namespace {netns_path}: "
                                     f"{os.strerror(errno)}")
        finally:
            os.close(target)
        try:
            yield
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:  # cannot happen for our own namespace
                raise OSError(ctypes.get_errno(), "cannot return to the thread's network namespace")
    finally:
        os.close(own)
