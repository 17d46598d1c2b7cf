"""The demo images' own tools: `wget` that survives `-T`, `nc` with `-z`, `printenv`
(nodelab/lab/registry/image_tools.py).

The scripts run here under the host's busybox (the binary the images carry with them when
`scripts/setup` could not build one that needs none) against an HTTP server on loopback;
tests/lab/test_pod_tools.py runs every tool inside a real pod.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nodelab.lab.registry.image_tools import NC, PRINTENV, WGET

BUSYBOX = Path("/bin/busybox")
pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(not BUSYBOX.exists(), reason="needs busybox-static (scripts/setup)"),
]


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = b"hello from loopback\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def run_script(script: str, *args: str, env: dict[str, str] | None = None,
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BUSYBOX), "sh", "-c", script, "tool", *args], env=env,
                          capture_output=True, text=True, timeout=30)


def test_busybox_wget_still_crashes_on_T(url: str) -> None:
    """The reason for the script: if this starts passing, the wrapper can go."""
    crashed = subprocess.run([str(BUSYBOX), "wget", "-q", "-T", "5", "-O-", url],
                             capture_output=True, timeout=30)
    assert crashed.returncode in (-11, 139)


@pytest.mark.parametrize("args", [
    ["-qO-"],
    ["-qO-", "-T", "5"],
    ["-q", "-T5", "-O-"],
    ["-qT", "5", "-O-"],
    ["-qT5", "-O-"],
    ["--timeout=5", "-qO-"],
    ["--timeout", "5", "-qO-"],
])
def test_wget_fetches_with_every_timeout_spelling(url: str, args: list[str]) -> None:
    result = run_script(WGET, *args, url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from loopback\n"


def test_wget_refuses_a_timeout_that_is_not_a_number(url: str) -> None:
    result = run_script(WGET, "-T", "soon", "-qO-", url)
    assert result.returncode == 1
    assert "invalid number 'soon'" in result.stderr


def test_wget_reports_a_refused_connection() -> None:
    result = run_script(WGET, "-T", "5", "-qO-", "http://127.0.0.1:1/")
    assert result.returncode == 1
    assert "can't connect" in result.stderr


def test_printenv_prints_named_values_and_fails_on_unset(tmp_path: Path) -> None:
    env = {"GREETING": "hello world", "EMPTY": "", "PATH": "/usr/bin:/bin"}
    assert run_script(PRINTENV, "GREETING", env=env).stdout == "hello world\n"
    assert run_script(PRINTENV, "EMPTY", env=env).stdout == "\n"
    missing = run_script(PRINTENV, "GREETING", "NOPE", env=env)
    assert (missing.returncode, missing.stdout) == (1, "hello world\n")
    marker = tmp_path / "expanded"
    assert run_script(PRINTENV, f"$(touch {marker})", env=env).returncode == 1
    assert not marker.exists()  # a name is never evaluated as shell
    everything = run_script(PRINTENV, env=env).stdout.splitlines()
    assert "GREETING=hello world" in everything


@pytest.fixture(scope="module")
def port(url: str) -> int:
    """The loopback HTTP server's port: a TCP port that accepts connections."""
    return int(url.rsplit(":", 1)[1].strip("/"))


def test_busybox_nc_still_has_no_z() -> None:
    """The reason for the script: if this starts passing, the wrapper can go."""
    plain = subprocess.run([str(BUSYBOX), "nc", "-z", "127.0.0.1", "1"], capture_output=True,
                           text=True, timeout=30)
    assert plain.returncode == 1 and "invalid option" in plain.stderr


@pytest.mark.parametrize("args", [["-z"], ["-zv"], ["-vz"], ["-z", "-w", "2"], ["-zw2"],
                                  ["-zvn", "-w2"], ["-n", "-z"]])
def test_nc_z_finds_an_open_port(port: int, args: list[str]) -> None:
    result = run_script(NC, *args, "127.0.0.1", str(port))
    assert result.returncode == 0, result.stderr
    expected = f"127.0.0.1 (127.0.0.1:{port}) open\n" if "v" in "".join(args) else ""
    assert (result.stdout, result.stderr) == ("", expected)


def test_nc_z_on_a_closed_port_fails_quietly_unless_verbose() -> None:
    quiet = run_script(NC, "-z", "-w", "2", "127.0.0.1", "1")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (1, "", "")
    loud = run_script(NC, "-zv", "127.0.0.1", "1")
    assert loud.returncode == 1 and "Connection refused" in loud.stderr


def test_nc_z_scans_a_range(port: int) -> None:
    found = run_script(NC, "-zv", "127.0.0.1", f"{port - 1}-{port + 1}")
    assert found.returncode == 0
    assert f"127.0.0.1 (127.0.0.1:{port}) open" in found.stderr


@pytest.mark.parametrize(("args", "says"), [
    (["-zu", "127.0.0.1", "53"], "-u with -z is not supported"),
    (["-z", "-l", "127.0.0.1", "53"], "-l is not supported with -z"),
    (["-z", "-w", "soon", "127.0.0.1", "53"], "invalid number 'soon'"),
    (["-z", "127.0.0.1", "http"], "invalid port 'http'"),
    (["-z", "127.0.0.1"], "usage: nc -z"),
])
def test_nc_z_refuses_what_it_cannot_do(args: list[str], says: str) -> None:
    result = run_script(NC, *args)
    assert result.returncode == 2 and says in result.stderr


def test_nc_z_never_evaluates_its_arguments(tmp_path: Path) -> None:
    marker = tmp_path / "expanded"
    result = run_script(NC, "-z", "-w", "1", f"$(touch {marker})", "80")
    assert result.returncode == 1 and not marker.exists()


def test_nc_without_z_is_busybox_nc(port: int) -> None:
    result = subprocess.run([str(BUSYBOX), "sh", "-c", NC, "nc", "-w", "5", "127.0.0.1",
                             str(port)], input="GET / HTTP/1.0\r\n\r\n", capture_output=True,
                            text=True, timeout=30)
    assert result.stdout.startswith("HTTP/1.") and "hello from loopback" in result.stdout
