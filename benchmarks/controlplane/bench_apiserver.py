"""Benchmark of the embedded API server: get/list/patch throughput and watch latency.

    .venv/bin/python benchmarks/controlplane/bench_apiserver.py [--pods 1000] [--watchers 50]
        [--seconds 5] [--out PATH]

Starts `python -m nodelab.controlplane` on a free loopback port with a throwaway state dir,
creates the pods, then measures over keep-alive HTTPS connections with the admin client
certificate (so the numbers are the server's, not a client library's):

- requests per second for GET of one pod, LIST of all pods (also with a field selector, as a
  kubelet lists its pods), and merge PATCH of a pod label, each with 4 client threads;
- watch-event delivery latency: 50 watchers on the pods collection while pods are patched;
  latency = time the watcher read the event - time just before the PATCH was sent.

Results are printed and written in the common shape (benchmarks/schema.py) to `--out`, default
benchmarks/results/apiserver-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from benchmarks.schema import default_out, write_results  # noqa: E402
from nodelab.controlplane import ensure_pki  # noqa: E402
from nodelab.controlplane.auth.pki import PKI  # noqa: E402

PODS = "/api/v1/namespaces/default/pods"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _context(pki: PKI) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    context.load_cert_chain(str(pki.admin.cert), str(pki.admin.key))
    return context


class Client:
    def __init__(self, port: int, context: ssl.SSLContext) -> None:
        self.connection = http.client.HTTPSConnection("127.0.0.1", port, context=context,
                                                      timeout=60)

    def call(self, method: str, path: str, body: Any = None,
             content_type: str = "application/json") -> tuple[int, bytes]:
        payload = None if body is None else json.dumps(body)
        self.connection.request(method, path, body=payload,
                                headers={"Content-Type": content_type})
        response = self.connection.getresponse()
        return response.status, response.read()


def _pod(i: int) -> dict[str, Any]:
    return {"metadata": {"name": f"bench-{i}", "labels": {"bench": "yes"}},
            "spec": {"nodeName": "bench-node",
                     "containers": [{"name": "c", "image": "busybox:1.36"}]}}


def _rate(port: int, context: ssl.SSLContext, seconds: float, threads: int,
          make: Any) -> float:
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def run(index: int) -> None:
        client = Client(port, context)
        n = 0
        while time.monotonic() < stop:
            method, path, body, kind = make(index, n)
            code, _ = client.call(method, path, body, kind)
            assert code < 300, (code, path)
            n += 1
        counts[index] = n

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.monotonic() - started)


def _watch_latency(port: int, context: ssl.SSLContext, watchers: int, pods: int,
                   events: int) -> dict[str, float]:
    client = Client(port, context)
    _, body = client.call("GET", f"{PODS}?limit=1")
    revision = json.loads(body)["metadata"]["resourceVersion"]
    sent: dict[str, float] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    ready = threading.Barrier(watchers + 1)

    def watch() -> None:
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context,
                                                 timeout=60)
        connection.request("GET", f"{PODS}?watch=true&resourceVersion={revision}")
        response = connection.getresponse()
        ready.wait()
        seen = 0
        while seen < events:
            line = response.readline()
            if not line:
                break
            received = time.monotonic()
            event = json.loads(line)
            marker = event["object"]["metadata"].get("labels", {}).get("mark")
            if marker in sent:
                with lock:
                    latencies.append(received - sent[marker])
                seen += 1
        connection.close()

    threads = [threading.Thread(target=watch) for _ in range(watchers)]
    for thread in threads:
        thread.start()
    ready.wait()
    time.sleep(0.5)
    for i in range(events):
        marker = f"m{i}"
        sent[marker] = time.monotonic()
        client.call("PATCH", f"{PODS}/bench-{i % pods}", {"metadata": {"labels": {"mark": marker}}},
                    "application/merge-patch+json")
        time.sleep(0.02)
    for thread in threads:
        thread.join(60)
    latencies.sort()
    return {"events": events, "watchers": watchers, "deliveries": len(latencies),
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1],
            "max_ms": 1000 * latencies[-1]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--watchers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--out", type=Path, default=default_out("apiserver"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nlbench-") as state:
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "nodelab.controlplane", "--state-dir", state,
             "--listen", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, cwd=REPO)
        try:
            insecure = ssl.create_default_context()
            insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"https://127.0.0.1:{port}/readyz", context=insecure)
                    break
                except OSError:
                    time.sleep(0.1)
            context = _context(ensure_pki(Path(state), ["127.0.0.1"]))
            client = Client(port, context)
            started = time.monotonic()
            for i in range(args.pods):
                code, body = client.call("POST", PODS, _pod(i))
                assert code == 201, body
            create_rate = args.pods / (time.monotonic() - started)
            results: dict[str, Any] = {
                "create_per_s": round(create_rate, 1),
                "get_per_s": round(_rate(port, context, args.seconds, 4, lambda t, n: (
                    "GET", f"{PODS}/bench-{(t * 997 + n) % args.pods}", None,
                    "application/json")), 1),
                "list_per_s": round(_rate(port, context, args.seconds, 4, lambda t, n: (
                    "GET", PODS, None, "application/json")), 2),
                "list_by_node_per_s": round(_rate(port, context, args.seconds, 4, lambda t, n: (
                    "GET", f"{PODS}?fieldSelector=spec.nodeName%3Dbench-node", None,
                    "application/json")), 2),
                "patch_per_s": round(_rate(port, context, args.seconds, 4, lambda t, n: (
                    "PATCH", f"{PODS}/bench-{(t * 997 + n) % args.pods}",
                    {"metadata": {"labels": {"n": str(n)}}}, "application/merge-patch+json")),
                    1),
                "watch": _watch_latency(port, context, args.watchers, args.pods,
                                        args.events),
            }
        finally:
            os.kill(server.pid, signal.SIGTERM)
            server.wait(10)
    operations = {"create_per_s": "create pod", "get_per_s": "get pod",
                  "list_per_s": f"list {args.pods} pods",
                  "list_by_node_per_s": "list pods by spec.nodeName",
                  "patch_per_s": "merge-patch pod"}
    rows: list[dict[str, Any]] = [{"operation": name, "per_s": results[key]}
                                  for key, name in operations.items()]
    watch = results["watch"]
    rows.append({"operation": f"watch delivery ({watch['watchers']} watchers)", **watch})
    write_results(args.out, "apiserver", {"pods": args.pods, "watchers": args.watchers,
                                          "seconds": args.seconds, "events": args.events}, rows)
    print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
