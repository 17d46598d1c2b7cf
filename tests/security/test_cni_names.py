"""Hostile names and planted links against the CNI stores: nothing outside them changes.

A CNI call names files after what it is given: host-local keeps `<dataDir>/<network>/<address>`
(holding `<containerID>\\r\\n<ifname>`) and `last_reserved_ip.N`, the runtime's result cache
`<cacheDir>/results/<network>-<containerID>-<ifname>`. Each case below aims one of those at a
victim tree outside the store: a `CNI_CONTAINERID`, `CNI_IFNAME` or network name that climbs
out (`..`, `/`, absolute paths, line breaks, over-long names), or a symlink planted in the store
where the plugin or the runtime next writes. host-local runs as a runtime runs it: the real
plugin executable (a thick front handing the call to a CNI daemon of this test). Each case
snapshots the victim before and after: refused names fail with upstream's code, planted links
are refused or replaced, never followed; the victim is unchanged every time.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nodelab.cni import plugin_dir
from nodelab.cni.cache import ResultCache
from nodelab.cni.config import parse_conflist
from nodelab.cni.server import SOCKET_ENV, CNIServer
from nodelab.host.beneath import PathEscape

from .victim import FIGURE, changes, snapshot

pytestmark = pytest.mark.unit
SOCKET = f"nodelab-cni-sec-{secrets.token_hex(4)}"
AREA = "CNI names and stores"


@pytest.fixture(scope="module", autouse=True)
def daemon() -> Iterator[CNIServer]:
    server = CNIServer(SOCKET)
    server.start(poll_interval=0.05)  # shutdown() waits out one poll
    yield server
    server.shutdown()
    server.server_close()


def host_local(data: Path, network: str = "net", container_id: str = "c1",
               ifname: str = "eth0", command: str = "ADD") -> tuple[int, dict[str, Any]]:
    """One call of the real host-local executable, as a runtime (or a main plugin) makes it."""
    config = {"cniVersion": "1.0.0", "name": network, "type": "bridge",
              "ipam": {"type": "host-local", "subnet": "10.1.0.0/24", "dataDir": str(data)}}
    base = {k: v for k, v in os.environ.items() if not k.startswith("CNI_")}
    env = {**base, SOCKET_ENV: SOCKET, "CNI_COMMAND": command, "CNI_CONTAINERID": container_id,
           "CNI_NETNS": "/var/run/netns/nl-does-not-exist", "CNI_IFNAME": ifname,
           "CNI_PATH": str(plugin_dir())}
    proc = subprocess.run([str(plugin_dir() / "host-local")], input=json.dumps(config).encode(),
                          capture_output=True, env=env, timeout=30, check=False)
    return proc.returncode, json.loads(proc.stdout or b"{}")


def climb(data: Path, target: Path) -> str:
    """A relative name that leads from `data/<network>/` to `target`."""
    return os.path.relpath(target, data / "net")


NAMES: list[tuple[str, Callable[[Path, Path], dict[str, str]], int]] = [
    ("container id climbing out", lambda d, v: {"container_id": climb(d, v / "dir" / "x")}, 4),
    ("container id through a directory", lambda d, v: {"container_id": "a/" + climb(d, v)}, 4),
    ("container id absolute", lambda d, v: {"container_id": str(v / "secret")}, 4),
    ("container id with a line break", lambda d, v: {"container_id": "c1\r\n10.1.0.9"}, 4),
    ("container id ..", lambda d, v: {"container_id": ".."}, 4),
    ("interface name climbing out", lambda d, v: {"ifname": "../../x"}, 4),
    ("interface name ..", lambda d, v: {"ifname": ".."}, 4),
    ("interface name with a line break", lambda d, v: {"ifname": "eth0\nx"}, 4),
    ("interface name with a colon", lambda d, v: {"ifname": "eth0:1"}, 4),
    ("interface name over 15 bytes", lambda d, v: {"ifname": "e" * 16}, 4),
    ("interface name of 8 two-byte letters", lambda d, v: {"ifname": "é" * 8}, 4),
    ("network name climbing out", lambda d, v: {"network": climb(d, v / "dir")}, 7),
    ("network name absolute", lambda d, v: {"network": str(v / "dir")}, 7),
    ("network name ..", lambda d, v: {"network": ".."}, 7),
]


@pytest.mark.parametrize(("label", "names", "code"), NAMES, ids=[n[0] for n in NAMES])
@pytest.mark.parametrize("command", ["ADD", "DEL"])
def test_hostile_names_are_refused_and_change_nothing(
        tmp_path: Path, victim: Path, label: str, names: Callable[[Path, Path], dict[str, str]],
        code: int, command: str) -> None:
    data = tmp_path / "data"
    before = snapshot(victim)
    exit_code, body = host_local(data, command=command, **names(data, victim))
    found = changes(before, snapshot(victim))
    FIGURE.record(AREA, found)
    assert found == []
    assert exit_code != 0 and body["code"] == code, body
    assert not (data / "net").exists() or sorted(os.listdir(data / "net")) in ([], ["lock"])


def test_a_good_call_still_reserves_upstreams_layout(tmp_path: Path) -> None:
    data = tmp_path / "data"
    exit_code, body = host_local(data)
    assert exit_code == 0, body
    assert body["ips"][0]["address"] == "10.1.0.2/24"
    assert (data / "net" / "10.1.0.2").read_bytes() == b"c1\r\neth0"
    assert (data / "net" / "last_reserved_ip.0").read_text() == "10.1.0.2"
    assert host_local(data, command="DEL")[0] == 0
    assert not (data / "net" / "10.1.0.2").exists()


def test_the_networks_directory_as_a_link_is_refused(tmp_path: Path, victim: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "net").symlink_to(victim / "dir")
    before = snapshot(victim)
    exit_code, body = host_local(data)
    found = changes(before, snapshot(victim))
    FIGURE.record(AREA, found)
    assert found == []
    assert exit_code != 0 and body["code"] == 5 and "symbolic link" in body["msg"], body


@pytest.mark.parametrize(("planted", "target"), [
    ("last_reserved_ip.0", "secret"),  # replaced by the next reservation, never written through
    ("10.1.0.2", "passwd"),  # a planted "reservation": taken, so the next address is used
    ("lock", "secret"),  # the lock is never opened through a link
])
def test_links_planted_in_the_store_are_never_followed(tmp_path: Path, victim: Path,
                                                       planted: str, target: str) -> None:
    data = tmp_path / "data"
    (data / "net").mkdir(parents=True)
    (data / "net" / planted).symlink_to(victim / target)
    before = snapshot(victim)
    exit_code, body = host_local(data)
    found = changes(before, snapshot(victim))
    FIGURE.record(AREA, found)
    assert found == []
    if planted == "lock":
        assert exit_code != 0 and body["code"] == 5, body
        return
    assert exit_code == 0, body
    assert body["ips"][0]["address"] == ("10.1.0.3/24" if planted == "10.1.0.2"
                                         else "10.1.0.2/24")
    if planted == "last_reserved_ip.0":
        assert not (data / "net" / planted).is_symlink()  # replaced by a rename


CONFLIST = parse_conflist({"cniVersion": "1.0.0", "name": "net",
                           "plugins": [{"type": "bridge"}]})


def test_the_result_cache_refuses_escaping_names_and_planted_links(tmp_path: Path,
                                                                   victim: Path) -> None:
    """The runtime's side: its cache of results, named after the same three names."""
    before = snapshot(victim)
    cache = ResultCache(tmp_path / "cache")
    for container_id in ("../../x", "a/b", climb(tmp_path / "cache", victim / "secret")):
        with pytest.raises(PathEscape):
            cache.save(CONFLIST, container_id, "eth0", "/n", {}, {}, {})
        FIGURE.record(AREA, [])
    cache.save(CONFLIST, "good", "eth0", "/n", {"cniVersion": "1.0.0"}, {}, {})
    planted = cache.directory / ResultCache.file_name("net", "c2", "eth0")
    planted.symlink_to(victim / "secret")
    assert cache.load("net", "c2", "eth0") is None  # a link is not read through
    cache.save(CONFLIST, "c2", "eth0", "/n", {"cniVersion": "1.0.0"}, {}, {})
    assert not planted.is_symlink()  # replaced, not written through
    FIGURE.record(AREA, [])
    other = ResultCache(tmp_path / "cache2")
    other.cache_dir.mkdir()
    (other.cache_dir / "results").symlink_to(victim / "dir")
    with pytest.raises(PathEscape):
        other.save(CONFLIST, "c3", "eth0", "/n", {}, {}, {})
    with pytest.raises(PathEscape):
        other.attachments("net")
    found = changes(before, snapshot(victim))
    FIGURE.record(AREA, found)
    assert found == []
    assert [a.container_id for a in cache.attachments("net")] == ["c2", "good"]
