"""Malformed and oversized requests against the real API server process (TLS, raw sockets).

The server decides from the headers alone: an anonymous client is answered 401 before any byte
of its body is read (it does not even send one here), a body over 3 MiB is 413 before it is
sent, a malformed length is 400, and a chunked body past the cap is cut off with 413. After each,
the server still answers an ordinary request.
"""

from __future__ import annotations

import json
import socket
import ssl
from typing import Any

import pytest

from ..controlplane.apiserver import RunningApiServer
from ..controlplane.watchclient import admin_context, request
from .victim import FIGURE

PATH = "/api/v1/namespaces/default/configmaps"


def exchange(server: RunningApiServer, head: str, body: bytes = b"",
             authenticated: bool = True) -> tuple[int, dict[str, Any]]:
    """Send raw request bytes; return the status code and the JSON body of the answer."""
    assert server.pki is not None
    if authenticated:
        context = admin_context(server)
    else:
        context = ssl.create_default_context(cafile=str(server.pki.ca_cert))
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(head.encode() + b"\r\n" + body)
        reader = tls.makefile("rb")
        status = int(reader.readline().split()[1])
        length = 0
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = reader.read(length) if length else b""
    return status, json.loads(payload or b"{}")


def headers(length: str | None = None, chunked: bool = False) -> str:
    lines = [f"POST {PATH} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return "\r\n".join(lines) + "\r\n"


def still_serving(server: RunningApiServer) -> bool:
    code, _ = request(server, "GET", PATH)
    return code == 200


@pytest.mark.parametrize(("name", "length", "authenticated", "code", "reason"), [
    ("anonymous huge body", str(1 << 30), False, 401, None),
    ("over 3 MiB", str(3 * 1024 * 1024 + 1), True, 413, "RequestEntityTooLarge"),
    ("negative length", "-1", True, 400, "BadRequest"),
    ("two lengths", "5, 6", True, 400, "BadRequest"),
    ("not a number", "1e9", True, 400, "BadRequest"),
])
def test_bad_lengths_are_refused_before_the_body(apiserver: RunningApiServer, name: str,
                                                 length: str, authenticated: bool, code: int,
                                                 reason: str | None) -> None:
    status, answer = exchange(apiserver, headers(length), authenticated=authenticated)
    FIGURE.record("API server requests", [] if status == code else [f"{name}: {status}"])
    assert status == code, answer
    if reason:
        assert answer["reason"] == reason
    assert still_serving(apiserver)


def test_a_chunked_body_past_the_cap_is_cut_off(apiserver: RunningApiServer) -> None:
    """Three 1 MiB chunks, then only the size line of a fourth: the server answers 413 on that
    line, without waiting for data that would pass the cap (the client sends no more, so the
    answer is not lost to a reset of a connection still being written to)."""
    chunk = b"x" * (1 << 20)
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3)) + b"100000\r\n"
    status, answer = exchange(apiserver, headers(chunked=True), body)
    FIGURE.record("API server requests", [] if status == 413 else [f"chunked: {status}"])
    assert status == 413 and "limit is 3145728" in answer["message"]
    assert still_serving(apiserver)


def test_a_small_chunked_body_is_read(apiserver: RunningApiServer) -> None:
    data = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "chunked"}}).encode()
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)
    status, answer = exchange(apiserver, headers(chunked=True), body)
    assert status == 201, answer
