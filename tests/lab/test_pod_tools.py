"""Every tool a learner reaches for works inside a pod of the lab images: wget (with -T, the
option Debian 12's busybox-static crashes on, also inside `sh -c`), nc (with -z), ping, ip, env,
printenv, and a pod reaching the API server and the registry on the lab gateway (pod traffic
leaving the pod network is masqueraded by podnet, as kindnet does)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from nodelab.errors import NodelabError
from nodelab.host.busybox import find_busybox
from nodelab.lab.lab import Lab
from tests.lab.kube import KUBECTL, kubectl, kubectl_json

pytestmark = [pytest.mark.privileged, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab(cluster: Lab) -> Iterator[Lab]:
    busybox, web = cluster.images.ref("busybox"), cluster.images.ref("web")
    kubectl(cluster, "run", "toolbox", f"--image={busybox}", "--", "sleep", "3600")
    kubectl(cluster, "run", "toolweb", f"--image={web}", "--port=8080")
    kubectl(cluster, "wait", "--for=condition=Ready", "pod/toolbox", "pod/toolweb",
            "--timeout=90s")
    yield cluster
    kubectl(cluster, "delete", "pod", "toolbox", "toolweb", "--wait=false", check=False)


def images_wget_crashes() -> bool:
    try:
        return find_busybox().wget_crashes_on_timeout
    except NodelabError:
        return True


def run(lab: Lab, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KUBECTL, "--kubeconfig", str(lab.kubeconfig), "exec",
                           *(["-i"] if stdin is not None else []), "toolbox", "--", *argv],
                          input=stdin, capture_output=True, text=True, timeout=60)


def web_ip(lab: Lab) -> str:
    return str(kubectl_json(lab, "get", "pod", "toolweb")["status"]["podIP"])


@pytest.mark.parametrize("argv", [
    ["wget", "-qO-", "-T", "5"],
    ["wget", "-q", "-T5", "-O-"],
    ["sh", "-i", "-c", "wget -qO- -T 5 \"$0\""],
    pytest.param(["sh", "-c", "wget -qO- -T 5 \"$0\""], marks=pytest.mark.skipif(
        images_wget_crashes(),
        reason="the images carry Debian 12's busybox, whose wget applet crashes on -T inside "
               "sh -c (scripts/setup could not fetch Debian 13's)")),
])
def test_wget(lab: Lab, argv: list[str]) -> None:
    url = f"http://{web_ip(lab)}:8080/"
    result = run(lab, *argv, url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "hello from toolweb"


def test_nc_speaks_http(lab: Lab) -> None:
    result = run(lab, "nc", "-w", "5", web_ip(lab), "8080",
                 stdin="GET / HTTP/1.0\r\n\r\n")
    assert result.stdout.startswith("HTTP/1.") and "hello from toolweb" in result.stdout


@pytest.mark.parametrize("argv", [
    ["nc", "-z", "-w", "5"],
    ["nc", "-zv", "-w5"],
    ["sh", "-i", "-c", 'nc -z -w 5 "$0" "$1"'],  # the ENV hook sends sh's nc to the script
])
def test_nc_z(lab: Lab, argv: list[str]) -> None:
    """`nc -z` (busybox-static's small nc has no -z; the images' /usr/bin/nc adds it)."""
    opened = run(lab, *argv, web_ip(lab), "8080")
    assert opened.returncode == 0, opened.stderr
    if "-zv" in argv:
        assert f"{web_ip(lab)} ({web_ip(lab)}:8080) open" in opened.stderr
    closed = run(lab, *argv, web_ip(lab), "9")
    assert closed.returncode == 1, closed.stderr


def test_ping_and_ip(lab: Lab) -> None:
    ping = run(lab, "ping", "-c", "1", "-W", "5", web_ip(lab))
    assert ping.returncode == 0 and "1 packets received" in ping.stdout, ping.stdout
    own_ip = kubectl_json(lab, "get", "pod", "toolbox")["status"]["podIP"]
    assert f"inet {own_ip}/24" in run(lab, "ip", "addr", "show", "eth0").stdout


def test_env_and_printenv(lab: Lab) -> None:
    assert run(lab, "printenv", "HOSTNAME").stdout == "toolbox\n"
    assert "KUBERNETES_SERVICE_HOST=10.96.0.1" in run(lab, "env").stdout.splitlines()
    assert run(lab, "printenv", "NO_SUCH_VARIABLE").returncode == 1


def test_a_pod_reaches_the_api_server_and_the_registry(lab: Lab) -> None:
    registry = run(lab, "wget", "-qO-", "-T", "5", f"http://{lab.images.registry}/v2/")
    assert registry.returncode == 0 and registry.stdout.strip() == "{}", registry.stderr
    # the kubernetes Service: a TCP connection through its DNAT to the gateway and back
    # (busybox nc exits 1 with "can't connect" when it cannot)
    api = run(lab, "nc", "-w", "5", "10.96.0.1", "443", stdin="")
    assert api.returncode == 0, api.stderr
