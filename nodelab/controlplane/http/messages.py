"""What the handler chain takes and gives: a `Request` (read by the HTTPS transport, with the
identity authentication found) and a `Response` (a JSON object, a byte stream, raw bytes, or a
`Tunnel` to a kubelet), as plain data so that `dispatch` stays free of sockets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from nodelab.controlplane.auth.access import Identity
from nodelab.controlplane.http.kubelet_connection import Tunnel
from nodelab.kube.objects import Object


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    identity: Identity | None
    gone: Callable[[], bool] = lambda: False  # the client hung up (checked by long requests)

    @property
    def path(self) -> str:
        """The decoded path (Go's URL.Path, which kube-apiserver routes on): a client's
        `nodelab%3Apodnet` names `nodelab:podnet`, and an encoded slash separates segments."""
        return unquote(urlsplit(self.target).path)

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.target).query,
                                             keep_blank_values=True).items()}

    @property
    def query_lists(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)


@dataclass
class Response:
    code: int = 200
    body: Object | None = None
    stream: Iterator[bytes] | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    tunnel: Tunnel | None = None
    raw: bytes | None = None
