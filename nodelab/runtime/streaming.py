"""The streaming server for Exec, Attach and PortForward (filled in below)."""

from __future__ import annotations

from typing import Any

from nodelab.runtime.rpc_errors import Unimplemented


class StreamingServer:
    def __init__(self, config: Any, records: Any, containers: Any) -> None:
        self.config = config

    def register(self, kind: str, request: Any) -> str:
        raise Unimplemented(f"{kind} streaming is not implemented yet")

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None
