"""Which sockets have something to read, for any file descriptor number.

`select.select` fails (ValueError) once a descriptor is 1024 or more, which a busy API server
or kubelet reaches with a few hundred watches and tunnels. `poll(2)` has no such limit; the
`selectors` module's PollSelector is used here so every caller waits the same way.
"""

from __future__ import annotations

import selectors
from collections.abc import Sequence
from typing import TypeVar

S = TypeVar("S")


def readable(sockets: Sequence[S], timeout: float | None) -> list[S]:
    """The sockets of `sockets` that are readable (or closed) within `timeout` seconds."""
    with selectors.PollSelector() as selector:
        for sock in sockets:
            selector.register(sock, selectors.EVENT_READ)  # type: ignore[arg-type]
        return [key.fileobj for key, _ in selector.select(timeout)]  # type: ignore[misc]
