"""ADD+DEL latency of nodelab's CNI plugins beside the reference plugins, in the same run.

    sudo .venv/bin/python benchmarks/cni/add_del_latency.py [--pods 100] [--out PATH]

For each flavour (nodelab's plugins from `plugin_dir()`, the reference plugins from
/usr/lib/cni) it makes a node namespace and N pod namespaces (`nlb<id>-...`); nodelab's plugins
are thick, so their daemon serves the node namespace as podnet does on a lab node (started
before the timing, as a node's daemons are). Then it times, per
pod, one ADD and one DEL of the same bridge + host-local (+ loopback) chain through the
invoker, with the plugins running inside the node namespace. It prints p50 and p99 per verb and
flavour and removes every namespace it made, even on failure. Flavours alternate pod by pod so
that host noise hits both alike. Results go to `--out` in the common shape
(benchmarks/schema.py), default benchmarks/results/cni-add-del-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.schema import default_out, write_results  # noqa: E402
from nodelab.cni import CNIInvoker, parse_conflist, plugin_dir  # noqa: E402
from nodelab.cni.server import start_in_netns  # noqa: E402
from nodelab.host.commands import run  # noqa: E402
from nodelab.lab.claims import claim, release  # noqa: E402

FLAVOURS = {"nodelab": [plugin_dir()], "reference": [Path("/usr/lib/cni")]}


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--out", type=Path, default=default_out("cni-add-del"))
    options = parser.parse_args()
    prefix = "nlb" + secrets.token_hex(2)
    created: list[str] = []
    state = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    # claimed as a runtime: if this process dies, the reaper ends what runs in the `prefix`
    # namespaces (the podnet daemon) and deletes them; a test session beside it counts them
    # as a live owner's, not residue
    held = claim("runtime", state, prefix=prefix)

    def netns(name: str) -> str:
        run(["ip", "netns", "add", f"{prefix}-{name}"])
        created.append(f"{prefix}-{name}")
        return f"{prefix}-{name}"

    times: dict[tuple[str, str], list[float]] = {}
    daemon: subprocess.Popen[bytes] | None = None
    try:
        setups = {}
        for flavour, plugin_path in FLAVOURS.items():
            node = netns(flavour[:3])
            if flavour == "nodelab":
                daemon = start_in_netns(f"/var/run/netns/{node}")
            invoker = CNIInvoker(
                plugin_path, state / flavour / "cache", exec_netns=Path(f"/var/run/netns/{node}")
            )
            conflist = parse_conflist(
                {
                    "cniVersion": "1.0.0",
                    "name": f"{prefix}{flavour[:3]}",
                    "plugins": [
                        {
                            "type": "bridge",
                            "bridge": f"{node}-br",
                            "isGateway": True,
                            "ipam": {
                                "type": "host-local",
                                "dataDir": str(state / flavour / "networks"),
                                "ranges": [[{"subnet": "10.250.0.0/16"}]],
                            },
                        }
                    ],
                }
            )
            setups[flavour] = (invoker, conflist)
        for i in range(options.pods):
            for flavour, (invoker, conflist) in setups.items():
                pod = netns(f"{flavour[0]}{i}")
                pod_path = f"/var/run/netns/{pod}"
                start = time.perf_counter()
                invoker.add(conflist, f"c{i}", pod_path, "eth0")
                added = time.perf_counter()
                invoker.delete(conflist, f"c{i}", pod_path, "eth0")
                done = time.perf_counter()
                times.setdefault((flavour, "ADD"), []).append(added - start)
                times.setdefault((flavour, "DEL"), []).append(done - added)
                run(["ip", "netns", "del", pod])
                created.remove(pod)
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=30)
        for name in reversed(created):
            run(["ip", "netns", "del", name], check=False)
        run(["rm", "-rf", str(state)], check=False)
        release(held)
    print(f"{'flavour':<10} {'verb':<4} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    rows = []
    for (flavour, verb), samples in sorted(times.items()):
        row = {"plugins": flavour, "verb": verb, "n": len(samples),
               "p50_ms": percentile(samples, 50) * 1000, "p99_ms": percentile(samples, 99) * 1000,
               "mean_ms": statistics.mean(samples) * 1000}
        rows.append(row)
        print(
            f"{flavour:<10} {verb:<4} {len(samples):>4} {row['p50_ms']:>8.1f} "
            f"{row['p99_ms']:>8.1f} {row['mean_ms']:>8.1f}"
        )
    write_results(options.out, "cni-add-del", {"pods": options.pods}, rows)


if __name__ == "__main__":
    main()
