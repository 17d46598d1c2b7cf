"""Keep-alive connections to one API server, reused from request to request.

A new HTTPS connection per request costs a TCP and a TLS handshake on both ends (and a server
thread): with 110 pods starting at once, the kubelet's status patches, events and token
requests each paid it, and so did the API server. client-go keeps its connections (HTTP/2, or
HTTP/1.1 keep-alive with up to 25 idle connections per host, `utilnet.SetTransportDefaults`);
`RestClient` does the same over HTTP/1.1 with this pool:

- `take(timeout)` hands out an idle connection (the newest first) or a new one, and says
  which: one idle longer than `IDLE_SECONDS` (the API server closes its end after 90 s, its
  IdleTimeout) or whose socket is readable while idle (the server closed it: only its EOF can
  be waiting) is closed instead of reused;
- `give_back(conn)` keeps a connection whose response was read to its end and that the server
  did not ask to close, up to `MAX_IDLE`; others are closed.

A request that fails on a reused connection before its answer (the server closed it just as the
request went out) is sent again on a new one when it may be replayed (GET and HEAD), as Go's
transport does (`shouldRetryRequest`); other requests raise the error, as there.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from collections.abc import Callable

from nodelab.host.readiness import readable

MAX_IDLE = 25  # client-go's MaxIdleConnsPerHost
IDLE_SECONDS = 45.0  # below the API server's 90 s IdleTimeout
REPLAYABLE = ("GET", "HEAD")  # Go's Request.isReplayable (without a body)
# what a reused connection the server closed raises on the next request
CLOSED_BY_SERVER = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    ssl.SSLEOFError)


class ConnectionPool:
    def __init__(self, connect: Callable[[float | None], http.client.HTTPConnection],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._connect = connect
        self._clock = clock
        self._lock = threading.Lock()
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []

    def take(self, timeout: float | None) -> tuple[http.client.HTTPConnection, bool]:
        """A connection for one request, and whether it was used before."""
        while True:
            with self._lock:
                if not self._idle:
                    break
                conn, since = self._idle.pop()
            if self._clock() - since < IDLE_SECONDS and conn.sock is not None \
                    and not _closed_by_peer(conn):
                conn.timeout = timeout
                conn.sock.settimeout(timeout)
                return conn, True
            conn.close()
        return self._connect(timeout), False

    def give_back(self, conn: http.client.HTTPConnection,
                  response: http.client.HTTPResponse) -> None:
        """Keep `conn` for another request if its `response` was read whole and may be
        followed by another; close it otherwise."""
        if response.will_close or not response.isclosed() or conn.sock is None:
            conn.close()
            return
        with self._lock:
            if len(self._idle) < MAX_IDLE:
                self._idle.append((conn, self._clock()))
                return
        conn.close()

    def idle(self) -> int:
        """How many connections wait to be reused."""
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn, _since in idle:
            conn.close()


def _closed_by_peer(conn: http.client.HTTPConnection) -> bool:
    try:
        return bool(readable([conn.sock], 0))
    except (OSError, ValueError):
        return True
