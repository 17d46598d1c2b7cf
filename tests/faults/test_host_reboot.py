"""A simulated host reboot: every lab process, container, mount, cgroup, rule and namespace
gone at once, the state dir kept. `nodelab up` brings the lab back (its pods run again, once
each, with no leaked address); after a second reboot `nodelab down` removes everything.

The reboot: SIGKILL to every process of the lab (the supervisor first, so nothing restarts),
then what the kernel would forget is removed (the lab's containers with their cgroups,
mounts, chains and tables, network namespaces and links), the state dir untouched.
"""

from __future__ import annotations

import signal

import pytest

from nodelab.host.processes import lab_processes, send_signal
from nodelab.lab.cleanup import take_down
from nodelab.lab.lab import Lab, take_down_lab
from nodelab.lab.supervision.client import supervisor_process
from tests.conftest import LabFactory, needs_root
from tests.faults.invariants import (
    api_pods,
    duplicates,
    ipam_addresses,
    pod_addresses,
    ready,
    rule_endpoints,
    runtime_view,
    slice_endpoints,
)
from tests.lab.kube import eventually, in_node, kubectl, kubectl_json
from tests.lab.test_lifecycle import lab_residue

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]


def reboot(lab: Lab) -> None:
    supervisor = supervisor_process(lab.paths)
    if supervisor is not None:
        send_signal(supervisor, signal.SIGKILL)
    # by identity: a short-lived child (an iptables-restore, a probe's exec) listed here may
    # end before its kill, and its PID may be reused
    for process in lab_processes(lab.name):
        send_signal(process, signal.SIGKILL)
    take_down(lab.names, lab.paths, keep_state=True)
    assert lab.paths.description.exists() and lab.paths.ledger.exists()
    assert lab_residue(lab) == set(), "a reboot leaves no process, mount or namespace"


def daemons_and_logs(lab: Lab) -> str:
    """Every daemon's state and restarts, and the tails of node1's kubelet and runtime logs."""
    status = lab.status()
    every = list(status.daemons) + [d for n in status.nodes for d in n.daemons]
    lines = [f"{d.name}: {d.state}, {d.restarts} restarts, last exit {d.last_exit}"
             for d in every]
    for daemon in ("node1/kubelet", "node1/runtime"):
        log = lab.paths.log(daemon)
        tail = log.read_text(errors="replace").splitlines()[-40:] if log.exists() else []
        lines += [f"--- {daemon} ---", *tail]
    return "\n".join(lines)


def recovered(lab: Lab) -> bool:
    """Both web pods (and the cluster DNS pod) Ready with one ready sandbox each, the runtime
    holding nothing else ready, and the address store holding exactly the pods' addresses."""
    pods = api_pods(lab)
    web = [p for p in pods if (p["metadata"].get("labels") or {}).get("app") == "web"]
    if len(web) != 2 or not all(ready(p) for p in pods):
        return False
    view = runtime_view(lab)
    live = {s.metadata.uid for s in view.sandboxes if s.state == 0}  # SANDBOX_READY
    return live == {p["metadata"]["uid"] for p in pods} and \
        ipam_addresses(lab) == pod_addresses(pods)


def test_up_after_a_reboot_recovers_and_down_after_one_cleans(make_lab: LabFactory) -> None:
    lab = make_lab()
    kubectl(lab, "create", "deployment", "web", f"--image={lab.images.ref('web')}",
            "--replicas=2")
    kubectl(lab, "expose", "deployment", "web", "--port=80", "--target-port=8080")
    eventually(lambda: recovered(lab), 90)
    before = {p["metadata"]["uid"] for p in api_pods(lab)}

    reboot(lab)
    assert not lab.status().healthy
    Lab.up(lab.name, progress=lambda _m: None)
    try:
        eventually(lambda: recovered(lab), 240)
    except AssertionError:  # say which part of recovery is missing, and what the node did
        pods = api_pods(lab)
        view = runtime_view(lab)
        live = sorted(s.metadata.uid for s in view.sandboxes if s.state == 0)
        raise AssertionError(
            f"not recovered: unready {[p['metadata']['name'] for p in pods if not ready(p)]}, "
            f"ready sandboxes {live} vs pods {sorted(p['metadata']['uid'] for p in pods)} "
            f"(all: {[(s.metadata.uid, s.state) for s in view.sandboxes]}), "
            f"IPAM {ipam_addresses(lab)} vs pods {pod_addresses(pods)}\n"
            f"{daemons_and_logs(lab)}") from None
    pods = api_pods(lab)
    assert {p["metadata"]["uid"] for p in pods} == before, "the same pods, run again"
    assert duplicates(runtime_view(lab)) == []
    eventually(lambda: rule_endpoints(lab) == slice_endpoints(lab), 60)
    cluster_ip = kubectl_json(lab, "get", "service", "web")["spec"]["clusterIP"]
    assert in_node(lab, "curl", "-s", "-m", "5", f"http://{cluster_ip}/").stdout.startswith(
        "hello from web-")

    reboot(lab)
    take_down_lab(lab.name)
    assert lab_residue(lab) == set()
