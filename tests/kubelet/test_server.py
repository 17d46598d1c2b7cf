"""End to end: the kubelet server (10250) behind the API server's proxy, with kubectl.

A real pod runs on nodelab's runtime (started through CRI as the pod workers will, see
workload.py); kubectl talks to the embedded API server, which proxies pods/log, pods/exec and
pods/portforward to this kubelet, which proxies exec/port-forward on to the runtime.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nodelab.cri import api_pb2 as cri
from nodelab.kubelet import container_logs as logs
from tests.kubelet.conftest import Workload
from tests.kubelet.processes import ControlPlane, KubeletFactory, KubeletRun, free_port, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.privileged]

SCRIPT = ("mkdir -p /www; echo hello-http > /www/index.html; seq 1 50000 > /www/big; "
          "httpd -p 8080 -h /www; "
          "echo hello; i=0; while true; do echo line $i; i=$((i+1)); sleep 0.5; done")


@dataclass
class Served:
    cp: ControlPlane
    kubelet: KubeletRun  # strict: client certificates only
    pod: str


@pytest.fixture(scope="module")
def served(controlplane: ControlPlane, workload: Workload,
           start_kubelet: KubeletFactory) -> Iterator[Served]:
    """One kubelet running one pod (through its pod workers) on nodelab's runtime.

    The container fails once (`first-run`, kept in an emptyDir) and is restarted by the
    kubelet, so `--previous` has something to show.
    """
    run = start_kubelet(workload.runtime.endpoint)
    wait_for(lambda: controlplane.kubectl("get", "node", run.name).returncode == 0, 30,
             f"node {run.name}:\n{run.current.output()}")
    pod = "web"
    script = ("if [ ! -f /data/once ]; then touch /data/once; echo first-run; exit 1; fi; "
              + SCRIPT)
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod},
                "spec": {"nodeName": run.name, "terminationGracePeriodSeconds": 1,
                         "volumes": [{"name": "data", "emptyDir": {}}],
                         "containers": [{"name": "app", "image": workload.image,
                                         "command": ["sh", "-c", script],
                                         "volumeMounts": [{"name": "data",
                                                           "mountPath": "/data"}]}]}}
    made = controlplane.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    assert made.returncode == 0, made.stderr
    try:
        wait_for(lambda: "line 4" in controlplane.kubectl("logs", pod).stdout, 90,
                 f"pod output: {controlplane.kubectl('logs', pod)}\n"
                 f"{controlplane.kubectl('describe', 'pod', pod).stdout}\n"
                 f"{run.current.output()}")
        yield Served(controlplane, run, pod)
    finally:
        controlplane.kubectl("delete", "pod", pod, "--grace-period=0", "--force")


def test_kubectl_logs(served: Served) -> None:
    cp, pod = served.cp, served.pod
    out = cp.kubectl("logs", pod)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("hello\nline 0\n")
    assert cp.kubectl("logs", pod, "--previous").stdout == "first-run\n"
    tail = cp.kubectl("logs", pod, "--tail=1").stdout
    assert tail.count("\n") == 1 and tail.startswith("line ")
    stamped = cp.kubectl("logs", pod, "--timestamps", "--tail=1").stdout
    assert logs.parse_time(stamped.split(" ", 1)[0]) and " line " in stamped
    recent = cp.kubectl("logs", pod, "--since=1s").stdout  # hello is >= 2 s old (line 4)
    assert "hello" not in recent and "line " in recent
    follow = subprocess.Popen([str(Path(".venv/bin/kubectl").resolve()), "--kubeconfig",
                               str(cp.admin_kubeconfig), "logs", "-f", "--tail=0", pod],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert follow.stdout is not None
        first = follow.stdout.readline()
        second = follow.stdout.readline()
        assert first.startswith("line ") and second.startswith("line ")
        assert int(second.split()[1]) == int(first.split()[1]) + 1
    finally:
        follow.kill()
        follow.wait()


def test_kubectl_exec_and_exit_status(served: Served) -> None:
    cp, pod = served.cp, served.pod
    out = cp.kubectl("exec", pod, "--", "echo", "hi")
    assert (out.returncode, out.stdout) == (0, "hi\n"), out.stderr
    failed = cp.kubectl("exec", pod, "--", "sh", "-c", "echo oops >&2; exit 3")
    assert failed.returncode == 3
    assert "oops" in failed.stderr
    piped = cp.kubectl("exec", "-i", pod, "--", "wc", "-c", input="12345")
    assert piped.stdout.strip() == "5", piped.stderr


def test_kubectl_attach(served: Served) -> None:
    attach = subprocess.Popen(
        [str(Path(".venv/bin/kubectl").resolve()), "--kubeconfig",
         str(served.cp.admin_kubeconfig), "attach", served.pod, "-c", "app"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    guard = threading.Timer(30, attach.kill)  # a silent attach must not hang the suite
    guard.start()
    try:
        assert attach.stdout is not None
        lines = [attach.stdout.readline() for _ in range(3)]
        assert any(line.startswith("line ") for line in lines), lines
    finally:
        guard.cancel()
        attach.kill()
        attach.wait()


def test_kubectl_exec_with_tty(served: Served) -> None:
    if shutil.which("script") is None:
        pytest.skip("`script` (util-linux) is needed to give kubectl a terminal")
    kubectl = f"{Path('.venv/bin/kubectl').resolve()} --kubeconfig {served.cp.admin_kubeconfig}"
    inner = f"{kubectl} exec -it {served.pod} -- sh -c 'test -t 0 && echo TTY-OK; exit 4'"
    # stdin stays open (a pipe) until kubectl is done, so `script` never hangs up the terminal
    proc = subprocess.Popen(["script", "-qec", inner, "/dev/null"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        code = proc.wait(timeout=60)
        assert proc.stdout is not None
        output = proc.stdout.read()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "TTY-OK" in output, output
    assert code == 4, output


def test_kubectl_cp_both_directions(served: Served, tmp_path: Path) -> None:
    cp, pod = served.cp, served.pod
    source = tmp_path / "in.txt"
    source.write_text("copied through the kubelet\n" * 100)
    up = cp.kubectl("cp", str(source), f"{pod}:/tmp/in.txt")
    assert up.returncode == 0, up.stderr
    assert cp.kubectl("exec", pod, "--", "wc", "-l", "/tmp/in.txt").stdout.split()[0] == "100"
    back = tmp_path / "back.txt"
    down = cp.kubectl("cp", f"{pod}:/tmp/in.txt", str(back))
    assert down.returncode == 0, down.stderr
    assert back.read_text() == source.read_text()


def test_kubectl_port_forward(served: Served) -> None:
    cp, pod = served.cp, served.pod
    port = free_port()
    forward = subprocess.Popen(
        [str(Path(".venv/bin/kubectl").resolve()), "--kubeconfig", str(cp.admin_kubeconfig),
         "port-forward", f"pod/{pod}", f"{port}:8080"], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        assert forward.stdout is not None
        first = forward.stdout.readline()
        assert "Forwarding from 127.0.0.1" in first, first
        url = f"http://127.0.0.1:{port}/index.html"
        body = wait_for(lambda: urllib.request.urlopen(url, timeout=5).read(), 15, url)
        assert body == b"hello-http\n"
        big = urllib.request.urlopen(f"http://127.0.0.1:{port}/big", timeout=20).read()
        assert big == "".join(f"{i}\n" for i in range(1, 50001)).encode()
        again = urllib.request.urlopen(url, timeout=5).read()  # a second connection
        assert again == b"hello-http\n"
    finally:
        forward.kill()
        forward.wait()


def _get(port: int, path: str, cert: tuple[Path, Path] | None,
         token: str = "") -> tuple[int, bytes]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if cert:
        context.load_cert_chain(str(cert[0]), str(cert[1]))
    url = f"https://127.0.0.1:{port}{path}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    context=context, timeout=10) as answer:
            return int(answer.status), bytes(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _service_account_token(cp: ControlPlane, name: str, rules: list[dict[str, Any]]) -> str:
    """A token of a new service account, bound (ClusterRole + binding) to `rules` if any."""
    from kubernetes import client as k8s

    api = cp.admin_client()
    core, rbac = k8s.CoreV1Api(api), k8s.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account("default", {"metadata": {"name": name}})
    if rules:
        rbac.create_cluster_role({"metadata": {"name": name}, "rules": rules})
        rbac.create_cluster_role_binding({
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}]})
    answer = core.create_namespaced_service_account_token(name, "default", {"spec": {}})
    return str(answer.status.token)


def test_server_authentication_and_authorization(served: Served) -> None:
    """Port 10250 as upstream's kubelet guards it: client certificates and tokens (TokenReview)
    authenticate, SubjectAccessReviews authorize by path and verb."""
    from nodelab.controlplane.auth.identities import KUBELET_CLIENT
    from nodelab.controlplane.auth.pki import ensure_pki

    pki = ensure_pki(served.cp.state_dir, [])
    port = served.kubelet.port
    exec_path = f"/exec/default/{served.pod}/app?command=id&stdout=true"
    assert _get(port, "/healthz", None) == (401, b"Unauthorized")  # anonymous
    assert _get(port, exec_path, None)[0] == 401
    assert _get(port, "/healthz", None, token="not-a-token")[0] == 401
    node = pki.node_credentials("nlkt-other")
    code, body = _get(port, exec_path, (node.cert, node.key))
    assert (code, body) == (403, b"Forbidden (user=system:node:nlkt-other, verb=get, "
                                 b"resource=nodes, subresource(s)=[proxy])\n")
    kubelet_client = pki.component_credentials(KUBELET_CLIENT)  # no system:masters
    assert _get(port, "/healthz", (kubelet_client.cert, kubelet_client.key)) == (200, b"ok")
    admin = (pki.admin.cert, pki.admin.key)
    assert _get(port, "/healthz", admin) == (200, b"ok")

    # a monitoring service account with the fine-grained rights only
    monitor = _service_account_token(served.cp, "kubelet-monitor", [
        {"apiGroups": [""], "resources": ["nodes/healthz", "nodes/stats", "nodes/pods"],
         "verbs": ["get"]}])
    assert _get(port, "/healthz", None, token=monitor) == (200, b"ok")
    assert _get(port, "/stats/summary", None, token=monitor)[0] == 200
    assert _get(port, "/pods", None, token=monitor)[0] == 200
    code, body = _get(port, "/metrics", None, token=monitor)
    assert (code, body) == (403, b"Forbidden (user=system:serviceaccount:default:kubelet-"
                                 b"monitor, verb=get, resource=nodes, subresource(s)=[metrics])\n")
    assert _get(port, exec_path, None, token=monitor)[0] == 403
    assert _get(port, f"/containerLogs/default/{served.pod}/app", None, token=monitor)[0] == 403
    nobody = _service_account_token(served.cp, "kubelet-nobody", [])
    code, body = _get(port, "/healthz", None, token=nobody)
    assert (code, body) == (403, b"Forbidden (user=system:serviceaccount:default:kubelet-"
                                 b"nobody, verb=get, resource=nodes, "
                                 b"subresource(s)=[healthz proxy])\n")

    code, body = _get(port, "/pods", admin)
    assert code == 200
    assert [p["metadata"]["name"] for p in json.loads(body)["items"]] == [served.pod]
    code, body = _get(port, "/stats/summary", admin)
    summary: dict[str, Any] = json.loads(body)
    assert summary["node"]["nodeName"] == served.kubelet.name
    assert [p["podRef"]["name"] for p in summary["pods"]] == [served.pod]
    assert summary["node"]["memory"]["availableBytes"] > 0
    assert summary["node"]["fs"]["capacityBytes"] > 0
    assert summary["node"]["memory"]["workingSetBytes"] > 0  # the node's cgroup
    assert summary["node"]["cpu"]["usageCoreNanoSeconds"] > 0
    [app] = summary["pods"][0]["containers"]
    assert app["name"] == "app" and app["startTime"] and app["logs"]["usedBytes"] > 0
    assert app["memory"]["workingSetBytes"] > 0 and app["rootfs"]["usedBytes"] >= 0
    assert summary["pods"][0]["process_stats"]["process_count"] >= 1
    code, body = _get(port, "/metrics/resource", admin)
    text = body.decode()
    assert code == 200 and "resource_scrape_error 0\n" in text
    labels = f'{{container="app",namespace="default",pod="{served.pod}"}}'
    for family in ("container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
                   "container_start_time_seconds"):
        assert f"\n{family}{labels} " in text, family
    for family in ("node_cpu_usage_seconds_total", "node_memory_working_set_bytes"):
        assert f"\n{family} " in text, family
    assert f'\npod_cpu_usage_seconds_total{{namespace="default",pod="{served.pod}"}} ' in text
    code, body = _get(port, "/metrics", admin)
    assert f'kubelet_node_name{{node="{served.kubelet.name}"}} 1' in body.decode()
    assert "kubelet_running_pods 1" in body.decode()
    assert _get(port, "/containerLogs/default/nosuchpod/app", admin)[0] == 404


def test_service_account_token_is_reviewed_and_authorized_by_the_api_server(
        served: Served) -> None:
    """Webhook authentication and authorization: a service account bound to upstream's
    `system:metrics-server` rules reads /metrics/resource and nothing else."""
    cp, port = served.cp, served.kubelet.port
    cp.kubectl("create", "serviceaccount", "scraper")
    cp.kubectl("create", "clusterrole", "node-metrics", "--verb=get",
               "--resource=nodes/metrics")
    cp.kubectl("create", "clusterrolebinding", "scraper-node-metrics",
               "--clusterrole=node-metrics", "--serviceaccount=default:scraper")
    token = cp.kubectl("create", "token", "scraper").stdout.strip()
    code, body = _get(port, "/metrics/resource", None, token)
    assert code == 200 and b"resource_scrape_error 0" in body
    code, body = _get(port, "/stats/summary", None, token)
    assert code == 403 and body.decode() == (
        "Forbidden (user=system:serviceaccount:default:scraper, verb=get, resource=nodes, "
        "subresource(s)=[stats])\n")
    assert _get(port, "/pods", None, token)[0] == 403
    assert _get(port, "/metrics/resource", None, token[:-4] + "AAAA")[0] == 401


def test_kill_9_and_restart_keeps_node_ready_and_pod_running(served: Served,
                                                              workload: Workload) -> None:
    """Last in this module: it restarts the kubelet the others used."""
    cp, run = served.cp, served.kubelet
    before = workload.runner.rt.ListContainers(cri.ListContainersRequest(), timeout=10)
    running = {c.id for c in before.containers if c.state == cri.CONTAINER_RUNNING}
    assert running
    run.current.kill()
    run.start()
    wait_for(lambda: f"kubelet {run.name} running" in run.current.output(), 30,
             f"the restarted kubelet:\n{run.current.output()}")
    after = workload.runner.rt.ListContainers(cri.ListContainersRequest(), timeout=10)
    assert {c.id for c in after.containers if c.state == cri.CONTAINER_RUNNING} == running
    node = json.loads(cp.kubectl("get", "node", run.name, "-o", "json").stdout)
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    out = wait_for(lambda: (o := cp.kubectl("exec", served.pod, "--", "echo", "back"))
                   .returncode == 0 and o, 20,
                   f"exec after the restart: {cp.kubectl('exec', served.pod, '--', 'true')}\n"
                   f"{run.current.output()[-3000:]}")
    assert out.stdout == "back\n"
