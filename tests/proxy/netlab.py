"""A throwaway node for the privileged proxy tests: a "node" netns, "pod" netns, another "node".

Everything is named `nl<id>-...` and lives in namespaces this module makes:

    nl<id>-node   the node: pod bridge nl<id>-br 10.244.1.1/24, the port-less service bridge
                  nl<id>-svc that 10.96.0.0/16 is routed to (nothing undeliverable leaves), and
                  nl<id>-x0 172.29.250.11/24 as the node's own IP, towards:
    nl<id>-ext    another "node" (172.29.250.12) that calls NodePorts from outside;
    nl<id>-p1..3  web pods 10.244.1.11-13 running `busybox httpd` on :8080, each serving a page
                  that names the pod;
    nl<id>-cli    a client pod 10.244.1.20 on the same bridge.

Rules are applied inside nl<id>-node only; deleting the namespaces (and killing the httpd
processes this module started, by PID) is the whole teardown.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from nodelab.host.commands import run

POD_GATEWAY = "10.244.1.1"
NODE_IP = "172.29.250.11"
EXT_IP = "172.29.250.12"
WEB_IPS = ("10.244.1.11", "10.244.1.12", "10.244.1.13")
CLIENT_IP = "10.244.1.20"

CLIENT = r"""
import collections, json, socket, sys, time
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = collections.Counter()
errors = collections.Counter()
started = time.monotonic()
slowest = 0.0
for _ in range(n):
    one = time.monotonic()
    try:
        s = socket.create_connection((ip, port), timeout=3)
        s.sendall(b"GET / HTTP/1.0\r\nHost: web\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        seen[data.split(b"\r\n\r\n", 1)[-1].strip().decode()] += 1
    except OSError as exc:
        errors[type(exc).__name__] += 1
    slowest = max(slowest, time.monotonic() - one)
print(json.dumps({"seen": seen, "errors": errors, "seconds": time.monotonic() - started,
                  "slowest": slowest}))
"""


UDP_SERVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(sys.argv[2].encode(), peer)
"""

WHO_SERVER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(128)
while True:
    c, peer = s.accept()
    c.settimeout(2)
    try:
        c.recv(4096)  # read the request first: closing with unread data sends a RST
        c.sendall(f"{sys.argv[2]} from {peer[0]}".encode())
        c.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    c.close()
"""

UDP_CLIENT = r"""
import socket, sys
ip, port, sport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", sport))
s.settimeout(2)
s.sendto(b"hello", (ip, port))
try:
    print(s.recvfrom(2048)[0].decode())
except OSError as exc:
    print(type(exc).__name__)
"""


@dataclass
class Requests:
    seen: dict[str, int]
    errors: dict[str, int]
    seconds: float
    slowest: float


@dataclass
class NodeLab:
    prefix: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def node(self) -> str:
        return f"{self.prefix}-node"

    @property
    def ext(self) -> str:
        return f"{self.prefix}-ext"

    @property
    def client(self) -> str:
        return f"{self.prefix}-cli"

    def pod(self, i: int) -> str:
        return f"{self.prefix}-p{i}"

    def namespaces(self) -> list[str]:
        return [self.node, self.ext, self.client] + [self.pod(i) for i in (1, 2, 3)]

    def start_udp_server(self, netns: str, port: int, answer: str) -> None:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, sys.executable, "-c", UDP_SERVER, str(port), answer],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        wait_bound(netns, "-u", port)

    def start_who_server(self, netns: str, port: int, name: str) -> None:
        """A TCP server answering `<name> from <client address>` (to see masquerading)."""
        proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, sys.executable, "-c", WHO_SERVER, str(port), name],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        wait_bound(netns, "-t", port)

    def udp_request(self, netns: str, ip: str, port: int, source_port: int) -> str:
        """One datagram from a fixed source port; the answer (or the error's name)."""
        argv = [
            "ip",
            "netns",
            "exec",
            netns,
            sys.executable,
            "-c",
            UDP_CLIENT,
            ip,
            str(port),
            str(source_port),
        ]
        return run(argv, timeout=30).stdout.strip()

    def requests(self, netns: str, ip: str, port: int, n: int) -> Requests:
        out = run(
            ["ip", "netns", "exec", netns, sys.executable, "-c", CLIENT, ip, str(port), str(n)],
            timeout=120,
        ).stdout
        data = json.loads(out)
        return Requests(
            dict(data["seen"]), dict(data["errors"]), float(data["seconds"]), float(data["slowest"])
        )


def _ip(*args: str) -> None:
    run(["ip", *args])


def _build(lab: NodeLab, www: Path) -> None:
    node = lab.node
    for ns in lab.namespaces():
        _ip("netns", "add", ns)
        _ip("-n", ns, "link", "set", "lo", "up")
    br, svc = f"{lab.prefix}-br", f"{lab.prefix}-svc"
    _ip("-n", node, "link", "add", br, "type", "bridge")
    _ip("-n", node, "addr", "add", f"{POD_GATEWAY}/24", "dev", br)
    _ip("-n", node, "link", "set", br, "up")
    _ip("-n", node, "link", "add", svc, "type", "bridge")
    _ip("-n", node, "link", "set", svc, "up")
    _ip("-n", node, "route", "add", "10.96.0.0/16", "dev", svc)
    run(["ip", "netns", "exec", node, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
    bridge_nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    if bridge_nf.exists():
        run(
            [
                "ip",
                "netns",
                "exec",
                node,
                "sysctl",
                "-q",
                "-w",
                "net.bridge.bridge-nf-call-iptables=1",
            ]
        )
    x0 = f"{lab.prefix}-x0"
    _ip("-n", node, "link", "add", x0, "type", "veth", "peer", "name", "eth0", "netns", lab.ext)
    _ip("-n", node, "addr", "add", f"{NODE_IP}/24", "dev", x0)
    _ip("-n", node, "link", "set", x0, "up")
    _ip("-n", lab.ext, "addr", "add", f"{EXT_IP}/24", "dev", "eth0")
    _ip("-n", lab.ext, "link", "set", "eth0", "up")
    pods = [
        (lab.pod(i), ip, f"{lab.prefix}-h{i}") for i, ip in zip((1, 2, 3), WEB_IPS, strict=True)
    ]
    pods.append((lab.client, CLIENT_IP, f"{lab.prefix}-hc"))
    for ns, ip, host_end in pods:
        _ip(
            "-n", node, "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", ns
        )
        _ip("-n", node, "link", "set", host_end, "master", br)
        _ip("-n", node, "link", "set", host_end, "type", "bridge_slave", "hairpin", "on")
        _ip("-n", node, "link", "set", host_end, "up")
        _ip("-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "route", "add", "default", "via", POD_GATEWAY)
    for i in (1, 2, 3):
        root = www / f"p{i}"
        root.mkdir()
        (root / "index.html").write_text(f"pod-{i}\n")
        proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                lab.pod(i),
                "busybox",
                "httpd",
                "-f",
                "-p",
                "8080",
                "-h",
                str(root),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        lab.procs.append(proc)
    deadline = time.monotonic() + 10
    for ip in WEB_IPS:
        while lab.requests(node, ip, 8080, 1).errors:
            if time.monotonic() > deadline:
                raise RuntimeError(f"httpd on {ip} did not start")
            time.sleep(0.1)


@contextmanager
def node_lab() -> Iterator[NodeLab]:
    lab = NodeLab("nl" + secrets.token_hex(2))
    with tempfile.TemporaryDirectory(prefix=f"{lab.prefix}-www-") as www:
        try:
            _build(lab, Path(www))
            yield lab
        finally:
            for proc in lab.procs:
                proc.terminate()
                proc.wait(timeout=10)
            for ns in lab.namespaces():
                subprocess.run(["ip", "netns", "del", ns], check=False, stderr=subprocess.DEVNULL)


def wait_bound(netns: str, protocol: str, port: int, timeout: float = 10.0) -> None:
    """Until a socket is bound to `port` (`protocol` -t or -u) in `netns`: what a test's first
    request to a server it just started needs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = subprocess.run(["ip", "netns", "exec", netns, "ss", "-Hln", protocol,
                                 f"sport = :{port}"], capture_output=True, text=True).stdout
        if listed.strip():
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing bound to {protocol} port {port} in {netns} after {timeout}s")
