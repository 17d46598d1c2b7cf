"""Streaming peers announcing huge WebSocket messages or SPDY header bombs are cut off.

Real sockets (a socketpair) and real zlib: a WebSocket frame header claiming 2^40 bytes makes
the runtime's streaming server answer close 1009 without reading or allocating the payload; the
kubelet's WebSocket client closes on it; a SPDY header block that inflates past 1 MiB is refused.
"""

from __future__ import annotations

import socket
import struct
import zlib

import pytest

from nodelab.errors import NodelabError
from nodelab.kubelet.server.spdy import HeaderCodec
from nodelab.kubelet.server.spdy_dictionary import SPDY3_DICTIONARY
from nodelab.kubelet.server.websocket_client import WebSocketClient
from nodelab.runtime.streaming.websocket import Connection

from .victim import FIGURE

pytestmark = pytest.mark.unit

HUGE_FRAME = bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 1 << 40) + b"mask"


def test_the_streaming_server_closes_on_a_huge_message() -> None:
    server, client = socket.socketpair()
    with server, client:
        client.sendall(HUGE_FRAME)
        assert Connection(server).receive() is None
        close = client.recv(16)
        assert close[0] == 0x88 and struct.unpack("!H", close[2:4])[0] == 1009
    FIGURE.record("streaming frames", [])


def test_the_kubelets_client_closes_on_a_huge_message() -> None:
    server, client = socket.socketpair()
    with server, client:
        ws = WebSocketClient(client)
        assert ws.feed(bytes([0x82, 127]) + struct.pack("!Q", 1 << 40)) == []
        assert ws.closed
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
