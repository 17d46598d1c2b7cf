"""Streaming peers announcing huge WebSocket messages or SPDY header bombs are cut off.

Real sockets (a socketpair) and real zlib: a WebSocket frame claiming 2^40 bytes makes the
runtime's streaming server answer close 1009 once the message passes 32 MiB (wsproto hands the
payload over as it arrives; nothing past the cap plus one read is held); the kubelet's WebSocket
client cuts such a peer off the same way; a SPDY header block that inflates past 1 MiB is
refused.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import zlib

import pytest

from nodelab.errors import NodelabError
from nodelab.kubelet.server.spdy import HeaderCodec
from nodelab.kubelet.server.spdy_dictionary import SPDY3_DICTIONARY
from nodelab.kubelet.server.websocket_client import WebSocketClient
from nodelab.runtime.streaming.websocket import Connection

from .victim import FIGURE

pytestmark = pytest.mark.unit

HUGE_HEADER = bytes([0x82, 127]) + struct.pack("!Q", 1 << 40)  # announces 1 TiB, unmasked
OVER_CAP = (32 << 20) + 65536  # what a peer has to send before it is cut off


def test_the_streaming_server_closes_on_a_huge_message() -> None:
    """A client frame announcing 2^40 bytes, then sending past the 32 MiB cap: close 1009."""
    server, client = socket.socketpair()
    with server, client:
        head = bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 1 << 40) + b"\0\0\0\0"  # mask 0
        sender = threading.Thread(target=lambda: _send_quietly(client, head + bytes(OVER_CAP)))
        sender.start()
        assert Connection(server).receive() is None
        sender.join(timeout=30)
        close = client.recv(16)
        assert close[0] == 0x88 and struct.unpack("!H", close[2:4])[0] == 1009
    FIGURE.record("streaming frames", [])


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):
        sock.sendall(data)


def test_the_kubelets_client_closes_on_a_huge_message() -> None:
    server, client = socket.socketpair()
    with server, client:
        ws = WebSocketClient(client)
        assert ws.feed(HUGE_HEADER) == [] and not ws.closed  # announced, not yet sent
        sent, chunk = 0, 1 << 20
        while not ws.closed and sent <= OVER_CAP + chunk:
            assert ws.feed(bytes(chunk)) == []
            sent += chunk
        assert ws.closed and sent <= (32 << 20) + chunk  # cut off at the cap plus one read
    FIGURE.record("streaming frames", [])


def test_a_spdy_header_bomb_is_refused() -> None:
    deflate = zlib.compressobj(zdict=SPDY3_DICTIONARY)
    raw = struct.pack(">I", 1) + struct.pack(">I", 1) + b"a" + struct.pack(">I", 64 << 20) + \
        bytes(64 << 20)
    block = deflate.compress(raw) + deflate.flush(zlib.Z_SYNC_FLUSH)
    assert len(block) < 1 << 20
    with pytest.raises(NodelabError, match="larger than"):
        HeaderCodec().decode(block)
    FIGURE.record("streaming frames", [])
