"""Port-forward over WebSocket: bytes between a client channel and 127.0.0.1:port in a pod netns.

For port *i* of the request, channel 2i carries data and 2i+1 errors; each channel's first
message is the port number as uint16 little endian (the kubelet's `v4.channel.k8s.io`
port-forward framing). The TCP connection is opened from a thread that has entered the pod's
network namespace with setns(2) (a socket stays in the namespace it was created in, so the
thread can switch back right away).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import Any

from nodelab.host.thread_netns import thread_in_netns
from nodelab.runtime.streaming.channels import client_messages, pump_to_channel
from nodelab.runtime.streaming.websocket import Connection


def connect_in_netns(netns_path: str, port: int) -> socket.socket:
    """A TCP connection to 127.0.0.1:port made from inside the network namespace `netns_path`."""
    result: dict[str, Any] = {}

    def worker() -> None:
        try:
            with thread_in_netns(netns_path):
                result["sock"] = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError as exc:
            result["error"] = exc

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    sock: socket.socket = result["sock"]
    sock.settimeout(None)
    return sock


# After one direction of a port's connection ends, how long the other may go on before the
# port is done: containerd's portForward (socat's -t) gives it a second.
CLOSE_GRACE = 1.0


def forward_ports(conn: Connection, netns_path: str, sandbox_id: str, ports: list[int]) -> None:
    """Serve port-forward channels for `ports` until the client closes the connection or
    every port is done: its connection failed (the error sent on its error channel) or the
    pod closed it and the client's side had CLOSE_GRACE to finish. Then the stream ends, as
    upstream's portForward closes its streams, so kubectl closes the local connection at once."""
    sockets: dict[int, socket.socket] = {}
    client_done = threading.Event()  # the client closed: nothing more goes to any pod socket
    remaining = len(ports)
    lock = threading.Lock()

    def port_done() -> None:
        nonlocal remaining
        with lock:
            remaining -= 1
            if remaining:
                return
        conn.close()
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_RDWR)  # ends the read below

    def pump(sock: socket.socket, channel: int) -> None:
        pump_to_channel(conn, sock.recv, channel)
        client_done.wait(CLOSE_GRACE)  # what the client sends meanwhile still reaches the pod
        port_done()

    try:
        for index, port in enumerate(ports):
            prefix = struct.pack("<H", port)
            conn.send(bytes([2 * index]) + prefix)
            conn.send(bytes([2 * index + 1]) + prefix)
            try:
                sock = connect_in_netns(netns_path, port)
            except OSError as exc:
                conn.send(bytes([2 * index + 1]) + f"error forwarding port {port} to pod "
                          f"{sandbox_id[:12]}: {exc}".encode())
                port_done()
                continue
            sockets[index] = sock
            threading.Thread(target=pump, args=(sock, 2 * index), daemon=True).start()
        for channel, data in client_messages(conn):
            target = sockets.get(channel // 2)
            if target is not None and channel % 2 == 0 and data:
                with contextlib.suppress(OSError):
                    target.sendall(data)
    except OSError:
        pass  # the client went away while the ports were set up: end as when it closes
    finally:
        client_done.set()
        for sock in sockets.values():
            with contextlib.suppress(OSError):  # wakes its pump's recv and tells the pod (FIN)
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
