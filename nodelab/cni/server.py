"""The daemon side of nodelab's thick CNI plugins: where a plugin call actually runs.

A runtime execs a plugin (`bin/bridge`, ...) as the CNI spec says. That executable is the small
C front (`front.c`), which sends the call to this server over the abstract unix socket
`@nodelab-cni` of its network namespace and relays the answer (see `front.c` for the wire
format). Each node's `podnet` daemon runs a `CNIServer` in the node's namespace, so the plugins'
Python code is imported once per node instead of once per call: this is what takes an ADD from
Python start-up cost down to the work itself.

The call is handled exactly as the plugin process used to handle it: the same `skel.serve` reads
the CNI_* environment and the config (same validation, same error codes), runs the plugin's
handlers, and its stdout and exit code go back to the front. Every call gets a thread, and
host-local's flock(2) keeps allocations atomic between threads as it does between processes.

Who may call: abstract sockets have no file permissions, so the server checks the peer's
credentials (SO_PEERCRED) on every call, before it reads a byte of the request (which is
capped at MAX_REQUEST bytes and MAX_VARIABLES variables): its uid must be the server's own
(root on a node), and its root directory must be the node's (a container's process, even a
hostNetwork one running as root, sees its own root filesystem and is refused). A refused
caller gets a CNI error, and nothing runs.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import socketserver
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from types import MappingProxyType

from nodelab.cni.errors import INVALID_ENVIRONMENT, PLUGIN_NOT_AVAILABLE, CNIError
from nodelab.cni.skel import Handlers, serve
from nodelab.errors import NodelabError

log = logging.getLogger("nodelab.cni.server")

DEFAULT_SOCKET = "nodelab-cni"
SOCKET_ENV = "NODELAB_CNI_SOCKET"
MAX_FIELD = 4 << 20  # a config larger than 4 MiB is refused (a runtime's are a few KiB)
MAX_REQUEST = 8 << 20  # the whole request: the config and every CNI_* variable
MAX_VARIABLES = 64  # CNI_* variables in one request (the spec defines six)
READ_TIMEOUT = 30.0  # a front sends its whole request at once


def plugin_handlers() -> Mapping[str, Handlers]:
    """Plugin name (as the runtime execs it) -> its handlers."""
    from nodelab.cni.plugins import bridge, host_local, loopback, portmap

    return MappingProxyType({
        "bridge": bridge.HANDLERS,
        "host-local": host_local.HANDLERS,
        "loopback": loopback.HANDLERS,
        "portmap": portmap.HANDLERS,
    })


def socket_name() -> str:
    """The abstract socket name this process serves or calls (`$NODELAB_CNI_SOCKET`)."""
    return os.environ.get(SOCKET_ENV) or DEFAULT_SOCKET


def read_netstring(stream: io.BufferedIOBase, budget: int = MAX_FIELD) -> bytes:
    """One `<length>:<bytes>,` of at most `budget` bytes from the stream; ValueError if it
    is not one."""
    head = b""
    while not head.endswith(b":"):
        byte = stream.read(1)
        if not byte or len(head) > 10:
            raise ValueError("truncated or malformed request")
        head += byte
    length = int(head[:-1])
    if not 0 <= length <= min(MAX_FIELD, budget):
        raise ValueError(f"field of {length} bytes")
    data = stream.read(length)
    if len(data) != length or stream.read(1) != b",":
        raise ValueError("truncated or malformed request")
    return data


def decode_call(stream: io.BufferedIOBase) -> tuple[str, dict[str, str], bytes]:
    """The front's request: plugin name, CNI_* environment, stdin; ValueError for one over
    MAX_REQUEST bytes or MAX_VARIABLES variables."""
    budget = MAX_REQUEST
    plugin = read_netstring(stream, budget)
    budget -= len(plugin)
    environ: dict[str, str] = {}
    while entry := read_netstring(stream, budget):
        budget -= len(entry)
        if len(environ) == MAX_VARIABLES:
            raise ValueError(f"more than {MAX_VARIABLES} variables")
        name, _, value = entry.decode().partition("=")
        if name.startswith("CNI_"):
            environ[name] = value
    return plugin.decode(), environ, read_netstring(stream, budget)


def run_call(handlers: Mapping[str, Handlers], plugin: str, environ: Mapping[str, str],
             stdin: bytes) -> tuple[int, bytes]:
    """Run one plugin call as its process would have: (exit code, stdout)."""
    out = io.StringIO()
    chosen = handlers.get(plugin)
    if chosen is None:
        error = CNIError(PLUGIN_NOT_AVAILABLE, f"nodelab's CNI daemon has no plugin {plugin!r}",
                         f"it serves {', '.join(sorted(handlers))}")
        return 1, error_json(error)
    code = serve(chosen, environ=environ, stdin=stdin, stdout=out)
    return code, out.getvalue().encode()


def error_json(error: CNIError) -> bytes:
    import json

    return json.dumps(error.to_json("1.0.0")).encode()


def peer_refusal(connection: socket.socket) -> str | None:
    """Why the peer may not call (None: it may). See the module docstring."""
    pid, uid, _gid = struct.unpack("3i", connection.getsockopt(
        socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    if uid != os.geteuid():
        return f"caller uid {uid} is not {os.geteuid()}: only root may call the node's plugins"
    try:
        theirs, ours = os.stat(f"/proc/{pid}/root"), os.stat("/")
        same_root = (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino)
    except OSError:
        same_root = False
    if not same_root:
        return f"caller pid {pid} has another root directory than the node (a container?)"
    return None


class _CallHandler(socketserver.StreamRequestHandler):
    server: CNIServer

    def handle(self) -> None:
        # who calls is checked before a byte of the request is read: anyone in the node's
        # network namespace can connect (a hostNetwork pod too)
        refusal = peer_refusal(self.connection)
        if refusal is not None:
            log.warning("refused a CNI call: %s", refusal)
            self.wfile.write(b"1\n" + error_json(CNIError(
                INVALID_ENVIRONMENT, "nodelab's CNI daemon refused the call", refusal)))
            self._discard_request()
            return
        self.connection.settimeout(READ_TIMEOUT)
        try:
            plugin, environ, stdin = decode_call(self.rfile)
        except (ValueError, UnicodeDecodeError, OSError) as exc:
            log.warning("malformed CNI call: %s", exc)
            return  # the front reports a connection closed without an answer
        self.connection.settimeout(None)
        code, out = run_call(self.server.handlers, plugin, environ, stdin)
        log.debug("%s %s %s -> %d", plugin, environ.get("CNI_COMMAND"),
                  environ.get("CNI_CONTAINERID", ""), code)
        self.wfile.write(b"%d\n" % code + out)


    def _discard_request(self) -> None:
        """Read (a bounded amount of) what a refused caller sent, unparsed: a unix socket
        closed with unread data resets the peer, which would lose the refusal."""
        self.connection.shutdown(socket.SHUT_WR)
        self.connection.settimeout(1.0)
        with contextlib.suppress(OSError):
            for _ in range(16):  # at most 1 MiB
                if not self.connection.recv(65536):
                    return


class CNIServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Serves the plugin fronts of this network namespace (one thread per call)."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, name: str | None = None) -> None:
        from nodelab.cni.front import ensure_built

        ensure_built()
        self.handlers = plugin_handlers()
        self.name = name or socket_name()
        try:
            super().__init__("\0" + self.name, _CallHandler)
        except OSError as exc:
            raise NodelabError(
                f"cannot serve CNI plugins on @{self.name}: {exc.strerror} (another nodelab CNI "
                "daemon, e.g. a podnet, already serves this network namespace?)") from exc

    def start(self, poll_interval: float = 0.5) -> threading.Thread:
        """Serve in a background thread (stop with `shutdown()` then `server_close()`;
        `shutdown()` waits for the serving loop's next poll, every `poll_interval` seconds)."""
        thread = threading.Thread(target=self.serve_forever, name="cni-server", daemon=True,
                                  kwargs={"poll_interval": poll_interval})
        thread.start()
        log.info("serving CNI plugins %s on @%s", ", ".join(self.handlers), self.name)
        return thread


READY_LINE = b"serving CNI plugins"


def start_in_netns(netns: str, *, env: Mapping[str, str] | None = None
                   ) -> subprocess.Popen[bytes]:
    """Start `python -m nodelab.cni.server` in the network namespace at path `netns` (with
    `nsenter --net`, as the lab starts podnet) and return once it serves. For tests, benchmarks
    and notebooks that wire pods into a namespace of their own; a lab node's podnet serves."""
    process = subprocess.Popen(
        ["nsenter", f"--net={netns}", "--", sys.executable, "-m", "nodelab.cni.server"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})})
    assert process.stdout is not None
    seen = b""
    while READY_LINE not in seen:
        line = process.stdout.readline()
        if not line:
            process.wait(timeout=30)
            raise NodelabError(f"nodelab's CNI daemon did not start in {netns}: "
                               f"{seen.decode(errors='replace').strip()[-1000:]}")
        seen += line
    # the rest of its log is not read: keep it off a pipe nobody drains
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return process


@contextlib.contextmanager
def serving_in(netns: str) -> Iterator[subprocess.Popen[bytes]]:
    """`start_in_netns`, stopped (SIGTERM, then waited for) when the block ends."""
    process = start_in_netns(netns)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    """`python -m nodelab.cni.server`: serve this network namespace's plugin fronts by hand."""
    from nodelab.host.daemon import refuse_to_start, setup_logging, stop_signals

    setup_logging("cni")
    try:
        server = CNIServer()
    except NodelabError as error:
        sys.exit(refuse_to_start("cni", error))
    server.start()
    stop_signals().wait()
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
