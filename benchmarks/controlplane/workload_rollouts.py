"""Workload controllers end to end on a real lab: a DaemonSet rollout and a parallel Job.

    sudo .venv/bin/python benchmarks/controlplane/workload_rollouts.py [--nodes 3]
        [--completions 20] [--parallelism 5] [--out PATH]

Brings up a fresh lab (`bm<id>`) and times, through the API with the official client:
- a DaemonSet from creation until every node's pod is available (scheduler, kubelets and
  the DaemonSet controller together), then a rolling restart (`kubectl rollout restart`'s
  annotation, maxUnavailable 1) until every pod is new and available;
- a Job of `--completions` pods, `--parallelism` at a time, each `true`, from creation until
  its Complete condition (with the most pods seen active at once).
Each has a reference measured in the same run on the same lab: the same pods made by this
script itself through the API, without the controller (and, for the DaemonSet, without the
scheduler): one bare pod per node (`nodeName` set) until all are Ready; the rolling restart
as a client would do it by hand, one node at a time (delete the pod, wait until it is gone,
create its successor, wait until it is Ready); the Job as a client loop keeping
`--parallelism` bare `true` pods running until `--completions` have Succeeded. The gap is
what the controllers (and their watches, queues and status writes) add to the kubelets'
work. Before anything is timed, one untimed pod per node pulls the image.
The lab is taken down at the end, also on failure or Ctrl-C. Results go to `--out` in the
common shape (benchmarks/schema.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kubernetes import client, config  # noqa: E402

from benchmarks.schema import Row, default_out, write_results  # noqa: E402
from nodelab.lab.lab import Lab, take_down_lab  # noqa: E402


def wait(check: Callable[[], bool], timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    raise TimeoutError(f"not done after {timeout} s")


def daemonset(image: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "bench-ds"},
            "spec": {"selector": {"matchLabels": {"app": "bench-ds"}},
                     "template": {"metadata": {"labels": {"app": "bench-ds"}},
                                  "spec": {"terminationGracePeriodSeconds": 1, "containers": [
                                      {"name": "c", "image": image,
                                       "command": ["sleep", "3600"]}]}}}}


def job(image: str, completions: int, parallelism: int) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "bench-job"},
            "spec": {"completions": completions, "parallelism": parallelism,
                     "template": {"spec": {"restartPolicy": "Never", "containers": [
                         {"name": "c", "image": image, "command": ["true"]}]}}}}


def bare_pod(name: str, image: str, command: list[str], node: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"terminationGracePeriodSeconds": 1, "restartPolicy": "Never"
                            if command == ["true"] else "Always",
                            "containers": [{"name": "c", "image": image, "command": command}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "bench-ref"}}, "spec": spec}


def pod_ready(core: Any, name: str) -> bool:
    status = core.read_namespaced_pod_status(name, "default").status
    return any(c.type == "Ready" and c.status == "True" for c in status.conditions or [])


def pod_gone(core: Any, name: str) -> bool:
    try:
        core.read_namespaced_pod(name, "default")
    except client.ApiException as exc:
        return bool(exc.status == 404)
    return False


def warm_up(core: Any, image: str, nodes: list[str]) -> None:
    """Untimed: one pod per node, so every node has pulled the image before anything is timed
    (else whichever case runs first pays the pulls)."""
    for node in nodes:
        core.create_namespaced_pod("default", bare_pod(f"warm-{node}", image,
                                                       ["sleep", "3600"], node))
    wait(lambda: all(pod_ready(core, f"warm-{n}") for n in nodes), 180)
    for node in nodes:
        core.delete_namespaced_pod(f"warm-{node}", "default")
    wait(lambda: all(pod_gone(core, f"warm-{n}") for n in nodes), 120)


def reference_daemonset(core: Any, image: str, nodes: list[str]) -> tuple[float, float]:
    """(bare pods, one per node, create -> all Ready; by hand, one node at a time, the
    rolling replacement -> all new Ready)."""
    start = time.monotonic()
    for node in nodes:
        core.create_namespaced_pod("default", bare_pod(f"ref-{node}", image,
                                                       ["sleep", "3600"], node))
    wait(lambda: all(pod_ready(core, f"ref-{n}") for n in nodes), 180)
    created = time.monotonic() - start
    start = time.monotonic()
    for node in nodes:
        name = f"ref-{node}"
        core.delete_namespaced_pod(name, "default")
        wait(functools.partial(pod_gone, core, name), 120)
        core.create_namespaced_pod("default", bare_pod(name, image, ["sleep", "3600"], node))
        wait(functools.partial(pod_ready, core, name), 120)
    replaced = time.monotonic() - start
    for node in nodes:
        core.delete_namespaced_pod(f"ref-{node}", "default")
    return created, replaced


def reference_job(core: Any, image: str, completions: int, parallelism: int) -> float:
    """A client keeping `parallelism` bare `true` pods running until `completions` Succeeded."""
    start = time.monotonic()
    made, succeeded = 0, 0
    running: set[str] = set()
    while succeeded < completions:
        while len(running) < parallelism and made < completions:
            name = f"ref-job-{made}"
            core.create_namespaced_pod("default", bare_pod(name, image, ["true"], None))
            running.add(name)
            made += 1
        for name in list(running):
            phase = core.read_namespaced_pod_status(name, "default").status.phase
            if phase == "Succeeded":
                running.discard(name)
                succeeded += 1
            elif phase == "Failed":
                raise RuntimeError(f"reference pod {name} failed")
        if time.monotonic() - start > 600:
            raise TimeoutError("the reference Job's pods did not all succeed in 600 s")
        time.sleep(0.05)
    return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--completions", type=int, default=20)
    parser.add_argument("--parallelism", type=int, default=5)
    parser.add_argument("--out", type=Path, default=default_out("workload-rollouts"))
    options = parser.parse_args()
    params = vars(options).copy()
    params.pop("out")
    name = "bm" + secrets.token_hex(2)
    rows: list[Row] = []
    try:
        lab = Lab.up(name, options.nodes, progress=lambda _m: None)
        api = config.new_client_from_config(str(lab.kubeconfig))  # type: ignore[no-untyped-call]
        apps, batch = client.AppsV1Api(api), client.BatchV1Api(api)
        core = client.CoreV1Api(api)
        image = lab.images.ref("busybox")
        node_names = [n.name for n in lab.topology.nodes]
        warm_up(core, image, node_names)
        ref_created, ref_replaced = reference_daemonset(core, image, node_names)
        wait(lambda: all(pod_gone(core, f"ref-{n}") for n in node_names), 120)

        def ds_done(generation: int) -> bool:
            ds = apps.read_namespaced_daemon_set("bench-ds", "default")
            status = ds.status
            return (status.observed_generation or 0) >= generation and (
                status.number_available or 0) == options.nodes == (
                status.updated_number_scheduled or 0) == status.desired_number_scheduled

        apps.create_namespaced_daemon_set("default", daemonset(image))
        seconds = wait(lambda: ds_done(1), 180)
        rows.append({"case": f"DaemonSet on {options.nodes} nodes, create -> all available",
                     "seconds": round(seconds, 2), "reference_s": round(ref_created, 2),
                     "reference": "bare pods, one per node"})
        write_results(options.out, "workload-rollouts", params, rows)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        apps.patch_namespaced_daemon_set("bench-ds", "default", {"spec": {"template": {
            "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}})
        seconds = wait(lambda: ds_done(2), 300)
        rows.append({"case": f"DaemonSet on {options.nodes} nodes, rolling restart "
                             "(maxUnavailable 1) -> all new pods available",
                     "seconds": round(seconds, 2), "reference_s": round(ref_replaced, 2),
                     "reference": "by hand, one node at a time"})
        write_results(options.out, "workload-rollouts", params, rows)

        most = 0

        def job_done() -> bool:
            nonlocal most
            status = batch.read_namespaced_job_status("bench-job", "default").status
            most = max(most, status.active or 0)
            return any(c.type == "Complete" and c.status == "True"
                       for c in status.conditions or [])

        ref_job = reference_job(core, image, options.completions, options.parallelism)
        batch.create_namespaced_job("default", job(image, options.completions,
                                                   options.parallelism))
        seconds = wait(job_done, 600)
        rows.append({"case": f"Job of {options.completions} completions, parallelism "
                             f"{options.parallelism}, create -> Complete",
                     "seconds": round(seconds, 2), "most_active": most,
                     "reference_s": round(ref_job, 2), "reference": "a client loop of bare pods"})
    finally:
        take_down_lab(name)
    write_results(options.out, "workload-rollouts", params, rows)
    for row in rows:
        print(f"{row['case']:<80} {row['seconds']:>8} s  (reference {row['reference_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
