"""The thick plugin split: the exec'd front, its daemon, and what happens when either side fails.

The front is the real binary from `plugin_dir()`; the daemon listens on an abstract socket name
of this test's own (`NODELAB_CNI_SOCKET`), so nothing else is reached.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodelab.cni import plugin_dir
from nodelab.cni.front import ensure_built
from nodelab.cni.server import SOCKET_ENV, CNIServer, decode_call, plugin_handlers, run_call

pytestmark = pytest.mark.unit
VERSION_CALL = {"CNI_COMMAND": "VERSION"}


def front(plugin: str, socket_name: str, env: dict[str, str], stdin: bytes,
          *, prefix: tuple[str, ...] = ()) -> tuple[int, dict[str, object]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CNI_")}
    proc = subprocess.run([*prefix, str(plugin_dir() / plugin)], input=stdin,
                          capture_output=True, env={**base, SOCKET_ENV: socket_name, **env},
                          timeout=30, check=False)
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="module", autouse=True)
def built_front() -> Path:
    return ensure_built()  # a daemon builds it when it starts; some tests here start none


@pytest.fixture
def daemon() -> Iterator[str]:
    name = f"nodelab-cni-test-{secrets.token_hex(4)}"
    server = CNIServer(name)
    server.start(poll_interval=0.05)  # shutdown() waits out one poll
    yield name
    server.shutdown()
    server.server_close()


def netstring(data: bytes) -> bytes:
    return b"%d:%s," % (len(data), data)


def test_the_front_relays_stdout_and_the_exit_code(daemon: str) -> None:
    code, body = front("bridge", daemon, VERSION_CALL, b'{"cniVersion": "1.0.0"}')
    assert code == 0 and "1.1.0" in body["supportedVersions"]  # type: ignore[operator]
    code, body = front("host-local", daemon, {"CNI_COMMAND": "ADD"}, b"{}")
    assert code == 1 and body["code"] == 4  # validated by the daemon, as the process did


def test_a_down_daemon_is_a_clear_error_at_once() -> None:
    code, body = front("bridge", f"nodelab-cni-none-{secrets.token_hex(4)}",
                       {**VERSION_CALL}, b'{"cniVersion": "1.1.0"}')
    assert code == 1
    assert body["code"] == 11 and body["cniVersion"] == "1.1.0"
    assert "not running in this network namespace" in str(body["msg"])


def test_a_daemon_that_closes_without_answering_is_an_error() -> None:
    name = f"nodelab-cni-test-{secrets.token_hex(4)}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("\0" + name)
    listener.listen(1)

    def close_at_once() -> None:
        connection, _ = listener.accept()
        connection.close()

    thread = threading.Thread(target=close_at_once)
    thread.start()
    try:
        code, body = front("bridge", name, VERSION_CALL, b"{}")
    finally:
        thread.join(timeout=10)
        listener.close()
    assert code == 1 and body["code"] == 11  # gone while sending, or before answering
    assert "nodelab's CNI daemon" in str(body["msg"])


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to call as another user")
def test_a_caller_that_is_not_root_is_refused(daemon: str) -> None:
    code, body = front("loopback", daemon, VERSION_CALL, b"{}",
                       prefix=("setpriv", "--reuid", "65534", "--regid", "65534",
                               "--clear-groups"))
    assert code == 1 and body["code"] == 4
    assert "only root" in str(body["details"])


CHROOTED_CALLER = """
import os, socket, sys
os.chroot(sys.argv[2])  # as a container's process: another root directory
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect("\\0" + sys.argv[1])  # abstract: reachable from any root in the netns
try:  # refused at once, the caller may find the connection closed while it sends
    sock.sendall(b"8:loopback,19:CNI_COMMAND=VERSION,0:,2:{},")
    sock.shutdown(socket.SHUT_WR)
except (BrokenPipeError, ConnectionResetError):
    pass
answer = b""
while chunk := sock.recv(65536):
    answer += chunk
sys.stdout.write(answer.decode())
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chroot")
def test_a_caller_with_another_root_is_refused(daemon: str, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", CHROOTED_CALLER, daemon, str(tmp_path)],
                          capture_output=True, text=True, timeout=30, check=True)
    code, _, body = proc.stdout.partition("\n")
    assert code == "1"
    assert "another root directory" in json.loads(body)["details"]


SILENT_CALLER = """
import socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect("\\0" + sys.argv[1])
sock.settimeout(20)
sys.stdout.write(sock.recv(65536).decode())  # it sends nothing: the answer comes first
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to call as another user")
def test_a_caller_is_refused_before_its_request_is_read(daemon: str) -> None:
    """A caller that may not call cannot make the daemon read (and hold) anything."""
    proc = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                           sys.executable, "-c", SILENT_CALLER, daemon],
                          capture_output=True, text=True, timeout=60, check=True)
    code, _, body = proc.stdout.partition("\n")
    assert code == "1" and json.loads(body)["code"] == 4


def test_a_request_over_its_size_or_variable_limits_is_refused() -> None:
    big = netstring(b"CNI_ARGS=" + b"x" * ((4 << 20) - 16))
    too_large = netstring(b"bridge") + big + big + big + netstring(b"") + netstring(b"{}")
    with pytest.raises(ValueError, match="field of"):
        decode_call(io.BufferedReader(io.BytesIO(too_large)))
    many = b"".join(netstring(b"CNI_X%d=1" % i) for i in range(65))
    too_many = netstring(b"bridge") + many + netstring(b"") + netstring(b"{}")
    with pytest.raises(ValueError, match="more than 64 variables"):
        decode_call(io.BufferedReader(io.BytesIO(too_many)))


@pytest.mark.parametrize("request_bytes", [
    b"",
    b"7:bridge",
    b"x:bridge,",
    b"6:bridge;",
    b"6:bridge,0:,",
    b"99999999999:bridge,",
], ids=["empty", "truncated", "bad-length", "bad-terminator", "no-stdin", "huge"])
def test_malformed_requests_are_refused(request_bytes: bytes) -> None:
    with pytest.raises(ValueError):
        decode_call(io.BufferedReader(io.BytesIO(request_bytes)))


def test_a_request_decodes_to_plugin_environment_and_stdin() -> None:
    raw = (netstring(b"bridge") + netstring(b"CNI_COMMAND=DEL") + netstring(b"CNI_ARGS=A=1;B=2")
           + netstring(b"HOME=/root") + netstring(b"") + netstring(b'{"a": 1}'))
    plugin, environ, stdin = decode_call(io.BufferedReader(io.BytesIO(raw)))
    assert plugin == "bridge"
    assert environ == {"CNI_COMMAND": "DEL", "CNI_ARGS": "A=1;B=2"}  # only CNI_* passes
    assert stdin == b'{"a": 1}'


def test_an_unknown_plugin_name_is_code_50() -> None:
    code, out = run_call(plugin_handlers(), "macvlan", VERSION_CALL, b"{}")
    assert code == 1 and json.loads(out)["code"] == 50
