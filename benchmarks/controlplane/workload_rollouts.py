"""Workload controllers end to end on a real lab: a DaemonSet rollout and a parallel Job.

    sudo .venv/bin/python benchmarks/controlplane/workload_rollouts.py [--nodes 3]
        [--completions 20] [--parallelism 5] [--out PATH]

Brings up a fresh lab (`bm<id>`) and times, through the API with the official client:
- a DaemonSet from creation until every node's pod is available (scheduler, kubelets and
  the DaemonSet controller together), then a rolling restart (`kubectl rollout restart`'s
  annotation, maxUnavailable 1) until every pod is new and available;
- a Job of `--completions` pods, `--parallelism` at a time, each `true`, from creation until
  its Complete condition (with the most pods seen active at once).
The lab is taken down at the end, also on failure or Ctrl-C. Results go to `--out` in the
common shape (benchmarks/schema.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
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
        image = lab.images.ref("busybox")

        def ds_done(generation: int) -> bool:
            ds = apps.read_namespaced_daemon_set("bench-ds", "default")
            status = ds.status
            return (status.observed_generation or 0) >= generation and (
                status.number_available or 0) == options.nodes == (
                status.updated_number_scheduled or 0) == status.desired_number_scheduled

        apps.create_namespaced_daemon_set("default", daemonset(image))
        seconds = wait(lambda: ds_done(1), 180)
        rows.append({"case": f"DaemonSet on {options.nodes} nodes, create -> all available",
                     "seconds": round(seconds, 2)})
        write_results(options.out, "workload-rollouts", params, rows)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        apps.patch_namespaced_daemon_set("bench-ds", "default", {"spec": {"template": {
            "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}})
        seconds = wait(lambda: ds_done(2), 300)
        rows.append({"case": f"DaemonSet on {options.nodes} nodes, rolling restart "
                             "(maxUnavailable 1) -> all new pods available",
                     "seconds": round(seconds, 2)})
        write_results(options.out, "workload-rollouts", params, rows)

        most = 0

        def job_done() -> bool:
            nonlocal most
            status = batch.read_namespaced_job_status("bench-job", "default").status
            most = max(most, status.active or 0)
            return any(c.type == "Complete" and c.status == "True"
                       for c in status.conditions or [])

        batch.create_namespaced_job("default", job(image, options.completions,
                                                   options.parallelism))
        seconds = wait(job_done, 600)
        rows.append({"case": f"Job of {options.completions} completions, parallelism "
                             f"{options.parallelism}, create -> Complete",
                     "seconds": round(seconds, 2), "most_active": most})
    finally:
        take_down_lab(name)
    write_results(options.out, "workload-rollouts", params, rows)
    for row in rows:
        print(f"{row['case']:<80} {row['seconds']:>8} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
