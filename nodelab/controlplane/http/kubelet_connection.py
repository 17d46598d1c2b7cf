"""The API server's connection to a kubelet: the client certificate and CA it uses, and the
upgraded connection (`Tunnel`) it forwards to the kubelet for exec, attach and port-forward.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nodelab.host.relay import pump


@dataclass(frozen=True)
class KubeletClient:
    """How the API server reaches kubelets: its client certificate (may be absent in tests)
    and, as `--kubelet-certificate-authority`, the CA that must have signed each kubelet's
    serving certificate for the node's address (None: not verified, upstream's default)."""

    cert: Path | None = None
    key: Path | None = None
    ca: Path | None = None

    def context(self) -> ssl.SSLContext:
        if self.ca is not None:
            # the cluster CA alone: not the system's trust store besides
            context = ssl.create_default_context(cafile=str(self.ca))
        else:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.cert and self.key:
            context.load_cert_chain(str(self.cert), str(self.key))
        return context



@dataclass
class Tunnel:
    """An upgraded connection to forward to the kubelet at `host:port`."""

    host: str
    port: int
    request_head: bytes
    client: KubeletClient

    def run(self, downstream: socket.socket, buffered: BinaryIO) -> None:
        raw = socket.create_connection((self.host, self.port), timeout=10)
        upstream = self.client.context().wrap_socket(raw, server_hostname=self.host)
        upstream.settimeout(None)
        downstream.settimeout(None)
        try:
            upstream.sendall(self.request_head)
            pump(downstream, upstream)
        finally:
            upstream.close()
