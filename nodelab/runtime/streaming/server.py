"""The streaming server behind Exec, Attach and PortForward (what `kubectl exec -it` reaches).

CRI splits streaming in two, as containerd and CRI-O do: the Exec/Attach/PortForward RPCs only
*register* a request and answer with a one-time URL (`http://<addr>:<port>/<kind>/<token>`, valid
for a minute); the kubelet (or the API server through it) then connects to that URL and the
runtime serves the stream there.

Protocol: WebSocket with the Kubernetes channel sub-protocols. Every binary message starts with
a channel byte:

    0 stdin   1 stdout   2 stderr   3 error/status (JSON metav1.Status)   4 resize ({Width,Height})

`v5.channel.k8s.io` (kubectl's default since 1.30) adds a close message `[255, channel]` that
half-closes one stream (how `kubectl cp` says "end of stdin"); `v4.channel.k8s.io` is the same
without it. The final status on channel 3 is `Success`, or `Failure` with reason
`NonZeroExitCode` and the exit code as a cause, which kubectl turns into its own exit code.

- exec: `runc exec` of the container's process with the command; with a tty it runs on a pty
  pair the server owns, so resize messages become TIOCSWINSZ on that pty and a SIGWINCH to runc,
  which copies the size to the container's terminal;
- attach: the monitor's attach socket (conmon, SOCK_SEQPACKET: a stream byte then data);
  resize goes through the monitor's control FIFO; the end of the client's stdin (`[255, 0]`,
  or the client going away) half-closes that socket, and conmon then closes the container's
  stdin if the container is `stdinOnce` (`kubectl run -i --rm ... -- cat` ends); when the
  container exits the stream ends with `Success`: as with containerd and CRI-O, attach
  reports no exit code, kubectl reads it from the pod's status;
- port-forward (`v4.channel.k8s.io` / `portforward.k8s.io`): for port *i* in the `ports` query,
  channel 2i carries data and 2i+1 errors; each channel's first message is the port number
  (uint16, little endian). The TCP connection is made from inside the pod's network namespace
  to 127.0.0.1:port. SPDY (the older transport) is not provided.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import secrets
import signal
import socket
import struct
import subprocess
import termios
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from nodelab.runtime.config import RuntimeConfig
from nodelab.runtime.containers import Containers
from nodelab.runtime.monitor import resize
from nodelab.runtime.records import RecordStore
from nodelab.runtime.streaming.channels import client_messages, pump_to_channel
from nodelab.runtime.streaming.portforward import forward_ports
from nodelab.runtime.streaming.websocket import Connection, choose_protocol, handshake_response

STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
CLOSE_SIGNAL = 255
STREAM_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io")
PORTFORWARD_PROTOCOLS = ("v4.channel.k8s.io", "portforward.k8s.io", "channel.k8s.io")
TOKEN_TTL = 60.0


@dataclass
class Pending:
    kind: str
    request: Any
    expires: float


def status_message(exit_code: int | None, error: str = "") -> bytes:
    if error:
        body: dict[str, Any] = {"metadata": {}, "status": "Failure", "message": error,
                                "reason": "InternalError"}
    elif not exit_code:
        body = {"metadata": {}, "status": "Success"}
    else:
        body = {"metadata": {}, "status": "Failure",
                "message": f"command terminated with non-zero exit code: exit status {exit_code}",
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]}}
    return bytes([ERROR]) + json.dumps(body).encode()


def set_winsize(fd: int, message: bytes) -> None:
    try:
        size = json.loads(message)
        packed = struct.pack("HHHH", int(size.get("Height", 0)), int(size.get("Width", 0)), 0, 0)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, packed)
    except (ValueError, OSError, AttributeError):
        pass


class StreamingServer:
    """Registers streaming requests and serves them over WebSocket."""

    def __init__(self, config: RuntimeConfig, records: RecordStore,
                 containers: Containers) -> None:
        self.config = config
        self.records = records
        self.containers = containers
        self.pending: dict[str, Pending] = {}
        self.lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.httpd is not None
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                server.handle(self)

            do_POST = do_GET

        self.httpd = ThreadingHTTPServer((self.config.stream_address, self.config.stream_port),
                                         Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, name="streaming",
                         daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()

    def register(self, kind: str, request: Any) -> str:
        token = secrets.token_urlsafe(12)
        now = time.monotonic()
        with self.lock:
            self.pending = {k: v for k, v in self.pending.items() if v.expires > now}
            self.pending[token] = Pending(kind, request, now + TOKEN_TTL)
        return f"{self.base_url}/{kind}/{token}"

    # --- serving ---------------------------------------------------------------------------

    def handle(self, http: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(http.path)
        parts = url.path.strip("/").split("/")
        with self.lock:
            pending = self.pending.pop(parts[1], None) if len(parts) == 2 else None
        if pending is None or pending.kind != parts[0] or pending.expires < time.monotonic():
            http.send_error(404, "unknown or expired streaming token")
            return
        if http.headers.get("Upgrade", "").lower() != "websocket":
            http.send_error(400, "this streaming server speaks WebSocket only (no SPDY)")
            return
        supported = PORTFORWARD_PROTOCOLS if pending.kind == "portforward" else STREAM_PROTOCOLS
        protocol = choose_protocol(http.headers.get("Sec-WebSocket-Protocol", ""), supported)
        key = http.headers.get("Sec-WebSocket-Key", "")
        http.wfile.write(handshake_response(key, protocol))
        http.wfile.flush()
        http.close_connection = True
        conn = Connection(http.connection)
        try:
            if pending.kind == "exec":
                self.serve_exec(conn, pending.request, protocol or "")
            elif pending.kind == "attach":
                self.serve_attach(conn, pending.request, protocol or "")
            else:
                query = urllib.parse.parse_qs(url.query)
                ports = [int(p) for value in query.get("port", []) + query.get("ports", [])
                         for p in value.split(",") if p]
                self.serve_portforward(conn, pending.request, ports or [pending.request.port])
        finally:
            conn.close()

    def serve_exec(self, conn: Connection, request: Any, protocol: str) -> None:
        record = self.records.find_container(request.container_id)
        if record is None:
            conn.send(status_message(None, f"container {request.container_id} not found"))
            return
        argv, process_file = self.containers.exec_argv(record, list(request.cmd), request.tty)
        try:
            if request.tty:
                code = self._exec_tty(conn, argv, request)
            else:
                code = self._exec_pipes(conn, argv, request)
        finally:
            process_file.unlink(missing_ok=True)
        conn.send(status_message(code))

    def _exec_pipes(self, conn: Connection, argv: list[str], request: Any) -> int:
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE if request.stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        pumps = [threading.Thread(target=_pump_fd, args=(conn, fd, channel), daemon=True)
                 for fd, channel in ((proc.stdout, STDOUT), (proc.stderr, STDERR))]
        for pump in pumps:
            pump.start()
        if request.stdin and proc.stdin is not None:
            threading.Thread(target=self._pump_in, args=(conn, proc.stdin.fileno(), None),
                             daemon=True).start()
        code = proc.wait()
        for pump in pumps:
            pump.join(5)
        return code

    def _exec_tty(self, conn: Connection, argv: list[str], request: Any) -> int:
        master, slave = pty.openpty()
        proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                start_new_session=True)
        os.close(slave)
        # runc copies its terminal's size to the container's at start and on SIGWINCH, which
        # the kernel sends only to a terminal's foreground group: runc's session has no
        # controlling terminal, so each resize signals runc itself (by pidfd: never a stranger)
        try:
            runc: int | None = os.pidfd_open(proc.pid)
        except OSError:  # no pidfds (a kernel before 5.3, a seccomp filter): no SIGWINCH
            runc = None
        out = threading.Thread(target=_pump_fd, args=(conn, master, STDOUT), daemon=True)
        out.start()
        pump_in = threading.Thread(target=self._pump_in, args=(conn, master, master, runc),
                                   daemon=True)
        pump_in.start()
        code = proc.wait()
        out.join(2)
        # the pumps may still use the pty and runc's pidfd (a resize after the exit): those fd
        # numbers are closed once both ended, never reused for another file while in use
        fds = (master,) if runc is None else (master, runc)
        threading.Thread(target=_close_after, args=((out, pump_in), fds), daemon=True).start()
        return code

    @staticmethod
    def _pump_in(conn: Connection, stdin_fd: int, tty_fd: int | None,
                 runc: int | None = None) -> None:
        for channel, data in client_messages(conn):
            if channel == STDIN and data:
                try:
                    os.write(stdin_fd, data)
                except OSError:
                    break
            elif channel == RESIZE and tty_fd is not None:
                set_winsize(tty_fd, data)
                if runc is not None:
                    with contextlib.suppress(OSError):
                        signal.pidfd_send_signal(runc, signal.SIGWINCH)
            elif channel == CLOSE_SIGNAL and data[:1] == bytes([STDIN]):
                break
        if tty_fd is None:
            with contextlib.suppress(OSError):
                os.close(stdin_fd)

    def serve_attach(self, conn: Connection, request: Any, protocol: str) -> None:
        record = self.records.find_container(request.container_id)
        if record is None:
            conn.send(status_message(None, f"container {request.container_id} not found"))
            return
        paths = self.containers.paths(record.id)
        dir_fd = os.open(paths.bundle, os.O_RDONLY | os.O_DIRECTORY)
        attach = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            attach.connect(f"/proc/self/fd/{dir_fd}/attach")
        finally:
            os.close(dir_fd)

        def to_client() -> None:
            while True:
                try:
                    data = attach.recv(32768 + 1)
                except OSError:
                    return
                if not data:
                    return
                stream = STDERR if data[0] == 3 else STDOUT
                with contextlib.suppress(OSError):
                    conn.send(bytes([stream]) + data[1:])

        def end_of_stdin() -> None:  # the monitor closes the container's stdin (stdinOnce)
            if request.stdin:
                with contextlib.suppress(OSError):
                    attach.shutdown(socket.SHUT_WR)

        def from_client() -> None:
            for channel, data in client_messages(conn):
                if channel == STDIN and request.stdin:
                    with contextlib.suppress(OSError):
                        attach.sendall(data)
                elif channel == CLOSE_SIGNAL and data[:1] == bytes([STDIN]):
                    end_of_stdin()
                elif channel == RESIZE:
                    with contextlib.suppress(OSError, ValueError):
                        size = json.loads(data)
                        resize(paths, int(size["Height"]), int(size["Width"]))
            end_of_stdin()

        reader = threading.Thread(target=to_client, daemon=True)
        reader.start()
        threading.Thread(target=from_client, daemon=True).start()
        reader.join()
        attach.close()
        conn.send(status_message(0))  # attach reports no exit code (kubectl reads the pod's)

    def serve_portforward(self, conn: Connection, request: Any, ports: list[int]) -> None:
        record = self.records.find_sandbox(request.pod_sandbox_id)
        if record is not None and record.netns_path:
            forward_ports(conn, record.netns_path, record.id, ports)


def _close_after(threads: tuple[threading.Thread, ...], fds: tuple[int, ...]) -> None:
    """Close `fds` once every thread using them has ended."""
    for thread in threads:
        thread.join()
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _pump_fd(conn: Connection, source: Any, channel: int) -> None:
    fd = source if isinstance(source, int) else source.fileno()
    pump_to_channel(conn, lambda size: os.read(fd, size), channel)
