"""SPDY/3 framing, as much as kubectl's port-forward needs (pure encode/decode).

kubectl (>= 1.31) port-forwards over SPDY/3.1 (plainly, or tunnelled in a WebSocket). A SPDY
session multiplexes *streams* over one connection. Frames:

    control: |1|version=3 (15)|type (16)|flags (8)|length (24)|payload
    data:    |0|stream id (31)       |flags (8)|length (24)|payload

Control types used here: SYN_STREAM (1: the client opens a stream with compressed headers),
SYN_REPLY (2: the server accepts it), RST_STREAM (3), SETTINGS (4), PING (6, echoed),
GOAWAY (7), WINDOW_UPDATE (9). Flag FIN (1) half-closes a stream. Header blocks are
`count, (len name, name, len value, value)*` with 32-bit big-endian lengths, deflated with
one zlib stream per direction and the preset `SPDY3_DICTIONARY`.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from nodelab.errors import NodelabError
from nodelab.kubelet.server.spdy_dictionary import SPDY3_DICTIONARY

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = (
    1, 2, 3, 4, 6, 7, 8, 9)
FLAG_FIN = 0x01
RST_CANCEL = 5

MAX_HEADER_BYTES = 1 << 20  # Go's http.DefaultMaxHeaderBytes


@dataclass(frozen=True)
class Frame:
    control: bool
    type: int  # control type; 0 for data frames
    flags: int
    stream_id: int  # data frames, and the first field of stream control frames
    payload: bytes

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


def take_frames(buffer: bytearray) -> list[Frame]:
    """Remove and return every complete frame at the start of `buffer`."""
    frames = []
    while len(buffer) >= 8:
        first, second = struct.unpack(">II", bytes(buffer[:8]))
        length = second & 0xFFFFFF
        if len(buffer) < 8 + length:
            break
        payload = bytes(buffer[8:8 + length])
        del buffer[:8 + length]
        flags = second >> 24
        if first & 0x80000000:
            kind = first & 0xFFFF
            stream = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF if len(payload) >= 4 \
                else 0
            frames.append(Frame(True, kind, flags, stream, payload))
        else:
            frames.append(Frame(False, 0, flags, first & 0x7FFFFFFF, payload))
    return frames


def control_frame(kind: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload


def data_frame(stream_id: int, data: bytes, fin: bool = False) -> bytes:
    flags = FLAG_FIN if fin else 0
    return struct.pack(">II", stream_id & 0x7FFFFFFF, (flags << 24) | len(data)) + data


class HeaderCodec:
    """The two zlib streams of one session (one per direction)."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(zdict=SPDY3_DICTIONARY)
        self._deflate = zlib.compressobj(zdict=SPDY3_DICTIONARY)

    def decode(self, block: bytes) -> dict[str, str]:
        """The headers of a header block, inflated up to MAX_HEADER_BYTES (a zlib bomb stops)."""
        try:
            raw = self._inflate.decompress(block, MAX_HEADER_BYTES + 1)
        except zlib.error as exc:
            raise NodelabError(f"bad SPDY header block: {exc}") from exc
        if len(raw) > MAX_HEADER_BYTES or self._inflate.unconsumed_tail:
            raise NodelabError(f"SPDY header block larger than {MAX_HEADER_BYTES} bytes")
        try:
            count = struct.unpack(">I", raw[:4])[0]
            headers, at = {}, 4
            for _ in range(count):
                size = struct.unpack(">I", raw[at:at + 4])[0]
                name = raw[at + 4:at + 4 + size].decode("latin-1")
                at += 4 + size
                size = struct.unpack(">I", raw[at:at + 4])[0]
                value = raw[at + 4:at + 4 + size].decode("latin-1")
                at += 4 + size
                headers[name.lower()] = value.split("\0")[0]
        except struct.error as exc:
            raise NodelabError(f"bad SPDY header block: truncated ({exc})") from exc
        return headers

    def encode(self, headers: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(headers))
        for name, value in headers.items():
            for part in (name.lower().encode("latin-1"), value.encode("latin-1")):
                raw += struct.pack(">I", len(part)) + part
        return self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)


def syn_stream_headers(codec: HeaderCodec, frame: Frame) -> dict[str, str]:
    """The headers of a SYN_STREAM (stream id 4 bytes, associated 4, priority 2, block)."""
    return codec.decode(frame.payload[10:])


def syn_stream(codec: HeaderCodec, stream_id: int, headers: dict[str, str],
               fin: bool = False) -> bytes:
    payload = struct.pack(">IIH", stream_id, 0, 0) + codec.encode(headers)
    return control_frame(SYN_STREAM, FLAG_FIN if fin else 0, payload)


def syn_reply(codec: HeaderCodec, stream_id: int, headers: dict[str, str] | None = None,
              fin: bool = False) -> bytes:
    payload = struct.pack(">I", stream_id) + codec.encode(headers or {})
    return control_frame(SYN_REPLY, FLAG_FIN if fin else 0, payload)


def rst_stream(stream_id: int, status: int = RST_CANCEL) -> bytes:
    return control_frame(RST_STREAM, 0, struct.pack(">II", stream_id, status))


def ping_reply(frame: Frame) -> bytes:
    return control_frame(PING, 0, frame.payload[:4])
