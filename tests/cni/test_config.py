"""Conflists, versions and results as plain data (pure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nodelab.cni import CNIError, Result, load_conflist, parse_conflist
from nodelab.cni.invoker import plugin_stdin

pytestmark = pytest.mark.unit

CONFLIST = {
    "cniVersion": "1.0.0",
    "name": "pods",
    "plugins": [
        {"type": "bridge", "bridge": "cni0", "ipam": {"type": "host-local"}},
        {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
    ],
}


def test_parse_conflist_keeps_each_plugin_as_written() -> None:
    conflist = parse_conflist(CONFLIST)
    assert conflist.name == "pods"
    assert conflist.cni_version == "1.0.0"
    assert [p.type for p in conflist.plugins] == ["bridge", "portmap"]
    assert conflist.plugins[1].capabilities == {"portMappings": True}
    assert conflist.plugins[0].raw["bridge"] == "cni0"


def test_single_plugin_conf_becomes_a_list_of_one(tmp_path: Path) -> None:
    path = tmp_path / "10-x.conf"
    path.write_text(json.dumps({"cniVersion": "0.4.0", "name": "x", "type": "loopback"}))
    conflist = load_conflist(path)
    assert [p.type for p in conflist.plugins] == ["loopback"]
    assert conflist.cni_version == "0.4.0"


def test_cni_versions_picks_the_highest_supported() -> None:
    conflist = parse_conflist({**CONFLIST, "cniVersions": ["0.4.0", "1.1.0", "9.9.9"]})
    assert conflist.cni_version == "1.1.0"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"{not json", 6),
        (json.dumps({**CONFLIST, "cniVersion": "9.0.0"}).encode(), 1),
        (json.dumps({"cniVersion": "1.0.0", "plugins": []}).encode(), 7),
        (json.dumps({"cniVersion": "1.0.0", "name": "x", "plugins": [{}]}).encode(), 7),
    ],
)
def test_bad_conflists_raise_the_spec_code(data: bytes, code: int) -> None:
    with pytest.raises(CNIError) as info:
        parse_conflist(data)
    assert info.value.code == code


def test_missing_file_is_an_invalid_config(tmp_path: Path) -> None:
    with pytest.raises(CNIError, match="cannot read CNI config") as info:
        load_conflist(tmp_path / "nope.conflist")
    assert info.value.code == 7


def test_injection_adds_name_version_capabilities_and_prev_result() -> None:
    conflist = parse_conflist(CONFLIST)
    caps = {
        "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}],
        "bandwidth": {"ingressRate": 1},
    }
    prev = {"cniVersion": "1.0.0", "ips": [{"address": "10.0.0.2/24"}]}
    bridge = plugin_stdin(conflist, conflist.plugins[0], caps, None)
    portmap = plugin_stdin(conflist, conflist.plugins[1], caps, prev)
    assert bridge["name"] == "pods" and bridge["cniVersion"] == "1.0.0"
    assert "runtimeConfig" not in bridge and "prevResult" not in bridge
    assert portmap["runtimeConfig"] == {"portMappings": caps["portMappings"]}
    assert portmap["prevResult"]["ips"] == prev["ips"]


def test_result_round_trip_and_sandbox_ips() -> None:
    body = {
        "cniVersion": "1.0.0",
        "interfaces": [{"name": "br"}, {"name": "veth1"}, {"name": "eth0", "sandbox": "/x"}],
        "ips": [{"interface": 2, "address": "10.0.0.2/24", "gateway": "10.0.0.1"}],
        "routes": [{"dst": "0.0.0.0/0", "gw": "10.0.0.1"}],
        "dns": {},
    }
    result = Result.from_json(body)
    assert result.to_json() == body
    assert [ip.address for ip in result.sandbox_ips()] == ["10.0.0.2/24"]


@pytest.mark.parametrize(
    "ips",
    [
        [{"address": "10.0.0.2"}],
        [{"address": "10.0.0.2/24", "gateway": "nope"}],
        [{"address": "10.0.0.2/24", "interface": 5}],
    ],
)
def test_invalid_results_are_decode_failures(ips: list[dict[str, object]]) -> None:
    with pytest.raises(CNIError) as info:
        Result.from_json({"cniVersion": "1.0.0", "ips": ips})
    assert info.value.code == 6


def test_plan_calls_shows_order_env_and_stdin_without_running_anything(tmp_path: Path) -> None:
    from nodelab.cni import plan_calls, plugin_dir

    conflist = parse_conflist(CONFLIST)
    caps = {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}
    add = plan_calls(
        "ADD",
        conflist,
        [plugin_dir()],
        "c1",
        "/var/run/netns/x",
        "eth0",
        {"K8S_POD_NAME": "web"},
        caps,
    )
    assert [c.plugin for c in add] == ["bridge", "portmap"]
    assert add[0].executable == plugin_dir() / "bridge"
    assert add[0].env["CNI_ARGS"] == "K8S_POD_NAME=web"
    assert add[1].prev_result_from == "bridge"
    assert add[1].stdin["runtimeConfig"] == caps
    cached = {"cniVersion": "1.0.0", "ips": [{"address": "10.0.0.2/24"}]}
    delete = plan_calls("DEL", conflist, [tmp_path], "c1", cached_result=cached)
    assert [c.plugin for c in delete] == ["portmap", "bridge"]
    assert delete[0].executable is None, "not on that path"
    assert delete[0].stdin["prevResult"]["ips"] == cached["ips"]


def test_invoker_refuses_a_container_id_the_spec_forbids(tmp_path: Path) -> None:
    from nodelab.cni import CNIInvoker

    invoker = CNIInvoker([tmp_path], tmp_path / "cache")
    with pytest.raises(CNIError) as info:
        invoker.add(parse_conflist(CONFLIST), "../../etc", "/var/run/netns/x", "eth0")
    assert info.value.code == 4


def test_default_conflist_is_the_first_loadable_file(tmp_path: Path) -> None:
    from nodelab.cni import default_conflist

    assert default_conflist(tmp_path / "missing") is None
    (tmp_path / "05-broken.conflist").write_text("{")
    (tmp_path / "10-pods.conflist").write_text(json.dumps(CONFLIST))
    (tmp_path / "20-other.conf").write_text(
        json.dumps({"cniVersion": "1.0.0", "name": "other", "type": "loopback"})
    )
    (tmp_path / "00-readme.txt").write_text("not a config")
    chosen = default_conflist(tmp_path)
    assert chosen is not None and chosen.name == "pods"
