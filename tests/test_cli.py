"""The `nodelab` command as a user types it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import needs_root, unique_lab_name


def nodelab(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nodelab", *args], capture_output=True,
                          text=True, timeout=300, check=check)


@pytest.mark.privileged
@needs_root
def test_up_status_kubeconfig_down() -> None:
    name = unique_lab_name()
    try:
        up = nodelab("up", "--name", name, "--nodes", "2")
        assert "registry" in up.stderr and f"lab {name} is up" in up.stderr
        status = json.loads(nodelab("status", "--name", name, "--json").stdout)
        for key in ("name", "gateway", "registry", "kubeconfig", "state_dir", "nodes"):
            assert status[key], key
        assert status["name"] == name
        assert [n["name"] for n in status["nodes"]] == ["node1", "node2"]
        for node in status["nodes"]:
            assert node["netns"] == f"nl{name}-{node['name']}"
            assert node["ip"].startswith(status["subnet"].rsplit(".", 1)[0])
            assert node["cri_socket"].endswith("runtime.sock")
        assert {d["name"]: d["state"] for d in status["daemons"]}["registry"] == "running"
        assert all(isinstance(d["pid"], int) for d in status["daemons"])
        kubeconfig = nodelab("kubeconfig", "--name", name, check=False)
        assert kubeconfig.stdout.strip() == status["kubeconfig"]
    finally:
        nodelab("down", "--name", name)
    gone = nodelab("status", "--name", name, check=False)
    assert gone.returncode == 3 and "not up" in gone.stdout


def test_bad_lab_name_is_a_message_not_a_traceback() -> None:
    result = nodelab("up", "--name", "Bad_Name", check=False)
    assert result.returncode == 1
    assert "invalid lab name" in result.stderr and "Traceback" not in result.stderr


def test_addon_enable_names_the_add_ons_and_the_missing_lab() -> None:
    unknown = nodelab("addon", "enable", "dashboard", check=False)
    assert unknown.returncode == 2 and "choose from 'node-problem-detector'" in unknown.stderr
    missing = nodelab("addon", "enable", "node-problem-detector", "--name", "nosuch",
                      check=False)
    assert missing.returncode == 1 and "nodelab up --name nosuch" in missing.stderr


def test_kubeconfig_of_a_missing_lab_says_how_to_start_it() -> None:
    result = nodelab("kubeconfig", "--name", "nosuch", check=False)
    assert result.returncode == 1
    assert "nodelab up --name nosuch" in result.stderr


@pytest.mark.privileged
@needs_root
def test_up_as_an_ordinary_user_says_it_needs_root() -> None:
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         sys.executable, "-m", "nodelab", "up", "--name", unique_lab_name()],
        capture_output=True, text=True, timeout=60, cwd="/",
    )
    assert result.returncode == 1
    assert "not root" in result.stderr and "nodelab doctor" in result.stderr
    assert "Traceback" not in result.stderr
