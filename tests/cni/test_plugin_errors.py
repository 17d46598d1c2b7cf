"""nodelab's plugins as executables: VERSION and the spec's error codes (no privileges needed).

Each case runs the real executable from `plugin_dir()` with an environment and stdin, and reads
the JSON error on stdout and the exit status, as a runtime would. The executables are thick
plugin fronts: a CNI daemon of this test (on an abstract socket name of its own, so nothing
else is reached) does the work, with the same validation as before.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator

import pytest

from nodelab.cni import plugin_dir
from nodelab.cni.plugins import PLUGINS
from nodelab.cni.server import SOCKET_ENV, CNIServer
from nodelab.cni.skel import parse_cni_args

pytestmark = pytest.mark.unit
SOCKET = f"nodelab-cni-test-{secrets.token_hex(4)}"


@pytest.fixture(scope="module", autouse=True)
def daemon() -> Iterator[CNIServer]:
    server = CNIServer(SOCKET)
    server.start(poll_interval=0.05)  # shutdown() waits out one poll
    yield server
    server.shutdown()
    server.server_close()

GOOD_ENV = {
    "CNI_COMMAND": "ADD",
    "CNI_CONTAINERID": "c1",
    "CNI_NETNS": "/var/run/netns/nl-does-not-exist",
    "CNI_IFNAME": "eth0",
    "CNI_PATH": str(plugin_dir()),
}
CONFIG = {
    "cniVersion": "1.0.0",
    "name": "net",
    "type": "bridge",
    "ipam": {"type": "host-local", "subnet": "10.1.0.0/24"},
}


def call(plugin: str, env: dict[str, str], stdin: bytes) -> tuple[int, dict[str, object]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CNI_")}
    proc = subprocess.run(
        [str(plugin_dir() / plugin)],
        input=stdin,
        capture_output=True,
        env={**base, SOCKET_ENV: SOCKET, **env},
        timeout=30,
        check=False,
    )
    return proc.returncode, json.loads(proc.stdout or b"{}")


@pytest.mark.parametrize("plugin", PLUGINS)
def test_version_lists_1_1_0(plugin: str) -> None:
    code, body = call(plugin, {"CNI_COMMAND": "VERSION"}, b'{"cniVersion": "1.1.0"}')
    assert code == 0
    assert body["cniVersion"] == "1.1.0"
    assert "1.0.0" in body["supportedVersions"]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("env", "stdin", "code"),
    [
        ({**GOOD_ENV, "CNI_IFNAME": ""}, json.dumps(CONFIG).encode(), 4),
        ({k: v for k, v in GOOD_ENV.items() if k != "CNI_COMMAND"}, b"{}", 4),
        ({**GOOD_ENV, "CNI_ARGS": "novalue"}, json.dumps(CONFIG).encode(), 4),
        (GOOD_ENV, b"{broken", 6),
        (GOOD_ENV, json.dumps({**CONFIG, "cniVersion": "0.1.0"}).encode(), 1),
        (GOOD_ENV, json.dumps({**CONFIG, "mtu": "big"}).encode(), 7),
        (GOOD_ENV, json.dumps({k: v for k, v in CONFIG.items() if k != "ipam"}).encode(), 7),
        (GOOD_ENV, json.dumps({k: v for k, v in CONFIG.items() if k != "name"}).encode(), 7),
        (GOOD_ENV, json.dumps(CONFIG).encode(), 4),
        (GOOD_ENV, json.dumps({**CONFIG, "vlan": 100}).encode(), 2),
        ({**GOOD_ENV, "CNI_CONTAINERID": "../etc"}, json.dumps(CONFIG).encode(), 4),
    ],
    ids=[
        "no-ifname",
        "no-command",
        "bad-args",
        "decode",
        "version",
        "bad-mtu",
        "no-ipam",
        "no-name",
        "no-netns",
        "vlan",
        "bad-container-id",
    ],
)
def test_bridge_errors_carry_the_spec_code(env: dict[str, str], stdin: bytes, code: int) -> None:
    exit_code, body = call("bridge", env, stdin)
    assert exit_code != 0
    assert body["code"] == code, body
    assert body["msg"]


def test_status_and_gc_need_1_1_0() -> None:
    env = {"CNI_COMMAND": "GC", "CNI_PATH": str(plugin_dir())}
    exit_code, body = call("host-local", env, json.dumps(CONFIG).encode())
    assert exit_code != 0 and body["code"] == 1


def test_host_local_rejects_bad_ranges_with_7() -> None:
    config = {
        **CONFIG,
        "ipam": {"type": "host-local", "subnet": "10.1.0.0/24", "rangeStart": "10.9.9.9"},
    }
    exit_code, body = call("host-local", GOOD_ENV, json.dumps(config).encode())
    assert exit_code != 0 and body["code"] == 7


def test_cni_args_parse() -> None:
    assert parse_cni_args("IgnoreUnknown=1;K8S_POD_NAME=web") == {
        "IgnoreUnknown": "1",
        "K8S_POD_NAME": "web",
    }
