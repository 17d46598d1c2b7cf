"""Every tool a learner reaches for works inside a pod of the lab images, in every form a
learner types it: `kubectl exec POD -- TOOL`, `sh -c 'TOOL ...'`, a script, `env TOOL`: wget
(with -T, the option Debian 12's busybox-static crashes on), nc (-z, -zv, -w), nslookup, ping,
ip, env, printenv, and a pod reaching the API server and the registry on the lab gateway (pod
traffic leaving the pod network is masqueraded by podnet, as kindnet does).

The `sh -c` and `env` forms of `nc -z` need the busybox `scripts/setup` builds (its shell looks
at PATH before its applets, and its nc is the full one); with the host's busybox-static
instead they skip, naming why."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from nodelab.errors import NodelabError
from nodelab.host.busybox import Busybox, find_busybox
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
    kubectl(cluster, "-n", "kube-system", "wait", "--for=condition=Available",
            "deployment/coredns", "--timeout=90s")  # nslookup's server
    yield cluster
    kubectl(cluster, "delete", "pod", "toolbox", "toolweb", "--wait=false", check=False)


def images_busybox() -> Busybox | None:
    try:
        return find_busybox()
    except NodelabError:
        return None


def images_wget_crashes() -> bool:
    busybox = images_busybox()
    return busybox is None or busybox.wget_crashes_on_timeout


def images_run_applets_first() -> bool:
    busybox = images_busybox()
    return busybox is None or (busybox.applets_first and not busybox.nc_zero_io)


applets_first = pytest.mark.skipif(
    images_run_applets_first(),
    reason="the images carry Debian's busybox-static, whose sh and env run the small nc applet "
           "before PATH (`bash scripts/setup env` could not build one without that preference)")


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


SCRIPT = '#!/bin/sh\nnc -z -w 5 "$1" "$2" && echo open || echo closed\n'


@pytest.mark.parametrize("argv", [
    ["nc", "-z", "-w", "5"],
    ["nc", "-zv", "-w5"],
    ["sh", "-i", "-c", 'nc -z -w 5 "$0" "$1"'],
    pytest.param(["sh", "-c", 'nc -z -w 5 "$0" "$1"'], marks=applets_first),
    pytest.param(["sh", "-c", 'nc -zv "$0" "$1"'], marks=applets_first),
    pytest.param(["env", "nc", "-z", "-w", "5"], marks=applets_first),
])
def test_nc_z(lab: Lab, argv: list[str]) -> None:
    """`nc -z` in each form (busybox-static's small nc has no -z)."""
    opened = run(lab, *argv, web_ip(lab), "8080")
    assert opened.returncode == 0, opened.stderr
    if "-zv" in " ".join(argv):
        assert f"{web_ip(lab)} ({web_ip(lab)}:8080) open" in opened.stderr
    closed = run(lab, *argv, web_ip(lab), "9")
    assert closed.returncode == 1, closed.stderr


@applets_first
def test_nc_z_in_a_script(lab: Lab) -> None:
    written = run(lab, "sh", "-c", 'cat > /tmp/probe.sh && chmod +x /tmp/probe.sh', stdin=SCRIPT)
    assert written.returncode == 0, written.stderr
    opened = run(lab, "/tmp/probe.sh", web_ip(lab), "8080")
    assert opened.stdout == "open\n", opened.stderr
    closed = run(lab, "sh", "/tmp/probe.sh", web_ip(lab), "9")
    assert closed.stdout == "closed\n", closed.stderr


def test_tools_inside_sh_c(lab: Lab) -> None:
    """What a learner types into `sh -c` reaches a tool that works (not a missing applet)."""
    ip = web_ip(lab)
    page = run(lab, "sh", "-c", f"wget -qO- http://{ip}:8080/")
    assert page.stdout.splitlines()[-1] == "hello from toolweb", page.stderr
    looked_up = run(lab, "sh", "-c", "nslookup kubernetes")
    assert "Address: 10.96.0.1" in looked_up.stdout, looked_up.stdout + looked_up.stderr
    ping = run(lab, "sh", "-c", f"ping -c 1 -W 5 {ip}")
    assert "1 packets received" in ping.stdout, ping.stdout + ping.stderr
    assert "eth0" in run(lab, "sh", "-c", "ip -o link show eth0").stdout
    assert "HOSTNAME=toolbox" in run(lab, "sh", "-c", "env").stdout.splitlines()
    assert run(lab, "sh", "-c", "printenv HOSTNAME").stdout == "toolbox\n"


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
