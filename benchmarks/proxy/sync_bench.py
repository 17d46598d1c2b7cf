"""Benchmark: kube-proxy sync time and first-packet latency, iptables vs nftables.

Run as root (it makes throwaway `nl<id>-...` namespaces and removes them):

    .venv/bin/python -m benchmarks.proxy.sync_bench [--sizes 100,1000,5000] [--endpoints 10]

For each mode and size (services x endpoints, all in one node namespace):

- full sync: `Proxier.sync` of a new proxier on an empty namespace (render + apply), and the
  floor, the same payload given to `iptables-restore` / `nft -f` alone; with `--pairs N`, the
  medians of N (floor, full sync) pairs where the floor is short (the noisy case);
- partial sync: one Service loses an endpoint; time of the sync and how much it wrote. The
  new state keeps every other Service and EndpointSlice object as it was, as the proxy's
  informer does after one watch event (so the change tracking sees one changed Service);
- first-packet latency: mean TCP connect time from the node to a ClusterIP whose endpoint is a
  real busybox httpd pod, for the Service that comes *last* in KUBE-SERVICES (iptables walks
  the list; nftables looks it up in a map).

`--apply-budget S` bounds the floor: when the apply tool alone does not finish the full
payload within S seconds (iptables-nft-restore grows with the square of the number of chains,
see restore_profile.py), that mode and size is recorded as over budget and its sync is skipped.
`--sync-limit S` skips the sync (which takes about as long again) when the floor alone took
more than S seconds: the row then has the measured floor only.

Results are printed as a table and written in the common shape (benchmarks/schema.py) to
`--out` (default benchmarks/results/proxy-sync-<timestamp>.json), after every case.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.schema import default_out, write_results  # noqa: E402
from nodelab.host.commands import CommandError, run  # noqa: E402
from nodelab.proxy import (  # noqa: E402
    EndpointSlice,
    Proxier,
    ProxyNode,
    ProxyState,
    Service,
    ServicePortSpec,
    SliceEndpoint,
    SlicePort,
    render_iptables,
    render_nftables,
)
from nodelab.proxy.iptables.apply import RESTORE  # noqa: E402
from nodelab.proxy.iptables.plan import IptablesPlan  # noqa: E402
from nodelab.proxy.nftables.plan import NftPlan  # noqa: E402
from nodelab.proxy.node_namespace import APPLY_TIMEOUT  # noqa: E402

POD_IP = "10.244.0.2"
NODE = ProxyNode("node1")

CONNECT = r"""
import socket, statistics, sys, time
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = []
for _ in range(n):
    t = time.perf_counter()
    s = socket.create_connection((ip, port), timeout=3)
    times.append(time.perf_counter() - t)
    s.close()
print(statistics.median(times))
"""

ACCEPT = r"""
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080))
s.listen(4096)
while True:
    c, _ = s.accept()
    c.close()
"""


@dataclass
class Result:
    mode: str
    services: int
    endpoints_per_service: int
    status: str
    floor_s: float | None
    full_sync_s: float | None = None
    full_render_s: float | None = None
    full_apply_s: float | None = None
    partial_sync_s: float | None = None
    partial_apply_s: float | None = None
    partial_rules_written: int | None = None
    rules_total: int | None = None
    first_packet_ms: float | None = None


PAIRS_BELOW = 2.0
"""`--pairs` repeats (floor, full sync) only while the floor takes less than this many seconds:
short loads are the noisy ones on a shared machine, long ones would cost minutes each."""


def fake_endpoint(k: int) -> str:
    """A distinct address per endpoint, in 10.100.0.0/14, outside every real network here."""
    block = k // 250
    return f"10.{100 + block // 250}.{block % 250}.{k % 250 + 1}"


def cluster(n: int, per: int) -> ProxyState:
    """n Services of `per` endpoints; the last one (in sort order) is the real pod."""
    services, slices = [], []
    for i in range(n):
        name = f"svc-{i:05d}"
        ip = f"10.96.{i // 250}.{i % 250 + 2}"
        services.append(Service("bench", name, ip, (ServicePortSpec(80, "TCP", "http"),)))
        if i == n - 1:
            eps: tuple[str, ...] = (POD_IP,)
        else:
            eps = tuple(fake_endpoint(i * per + j) for j in range(per))
        slices.append(
            EndpointSlice(
                "bench",
                f"{name}-x",
                name,
                tuple(SliceEndpoint((a,), node_name="node1") for a in eps),
                (SlicePort(8080, "http"),),
            )
        )
    return ProxyState.of(services, slices)


def drop_one(state: ProxyState) -> ProxyState:
    """`state` after one watch event: the first Service's slice lost an endpoint; every other
    object is the same instance, as in the proxy's informer."""
    key = min(state.slices)
    eps = state.slices[key]
    slices = {**state.slices, key: replace(eps, endpoints=eps.endpoints[:-1])}
    return ProxyState(dict(state.services), slices)


def last_cluster_ip(n: int) -> str:
    i = n - 1
    return f"10.96.{i // 250}.{i % 250 + 2}"


@contextmanager
def bench_node() -> Iterator[str]:
    """A node namespace with one pod that accepts TCP on :8080; yields the node's name."""
    prefix = "nl" + secrets.token_hex(2)
    node, pod = f"{prefix}-bnode", f"{prefix}-bpod"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for ns in (node, pod):
            run(["ip", "netns", "add", ns])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        br, svc, veth = f"{prefix}-br", f"{prefix}-svc", f"{prefix}-h"
        for argv in (
            ["link", "add", br, "type", "bridge"],
            ["addr", "add", "10.244.0.1/24", "dev", br],
            ["link", "set", br, "up"],
            ["link", "add", svc, "type", "bridge"],
            ["link", "set", svc, "up"],
            ["route", "add", "10.96.0.0/16", "dev", svc],
            ["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", pod],
            ["link", "set", veth, "master", br],
            ["link", "set", veth, "up"],
        ):
            run(["ip", "-n", node, *argv])
        run(["ip", "-n", pod, "addr", "add", f"{POD_IP}/24", "dev", "eth0"])
        run(["ip", "-n", pod, "link", "set", "eth0", "up"])
        run(["ip", "-n", pod, "route", "add", "default", "via", "10.244.0.1"])
        procs.append(
            subprocess.Popen(
                ["ip", "netns", "exec", pod, sys.executable, "-c", ACCEPT],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        time.sleep(0.5)
        yield node
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        for ns in (node, pod):
            subprocess.run(["ip", "netns", "del", ns], check=False)


def floor_seconds(proxier: Proxier, state: ProxyState, budget: float, *,
                  keep: bool = False) -> float | None:
    """The apply tool alone on the full payload, in the still empty namespace; None when it
    overran `budget` seconds.

    The tool only, on the payload a full sync of the empty namespace writes (in iptables mode
    it inserts the jump rules itself). The rules are removed again afterwards, unless `keep`
    and the load succeeded.
    """
    if proxier.mode == "iptables":
        plan: IptablesPlan | NftPlan = render_iptables(
            state, proxier.node, existing_jumps=frozenset()
        )
    else:
        plan = render_nftables(state, proxier.node)
    if isinstance(plan, IptablesPlan):
        argv, text = RESTORE, plan.payload
    else:
        argv, text = ["nft", "-f", "-"], plan.script
    start = time.monotonic()
    loaded = False
    try:
        proxier.ns.run(argv, input=text, timeout=min(budget, APPLY_TIMEOUT))
        elapsed = time.monotonic() - start
        loaded = True
        return elapsed
    except CommandError:
        if time.monotonic() - start < budget:
            raise
        return None
    finally:
        if not (keep and loaded):
            proxier.remove_rules()


def first_packet_ms(proxier: Proxier, n: int, connects: int) -> float:
    out = proxier.ns.run(
        [sys.executable, "-c", CONNECT, last_cluster_ip(n), "80", str(connects)], timeout=600
    ).stdout
    return float(out) * 1000


def measure(mode: str, n: int, per: int, connects: int, budget: float,
            sync_limit: float | None, pairs: int = 1) -> Result:
    with bench_node() as node:
        proxier = Proxier(NODE, mode, node)  # the proxy process's defaults
        try:
            proxier.start()  # as the proxy process does (route_localnet, once)
            state = cluster(n, per)
            floor_seconds(proxier, cluster(1, per), budget)  # warm-up: first load in a netns
            floor = floor_seconds(proxier, state, budget, keep=True)
            if floor is None:
                tool = "iptables-restore" if mode == "iptables" else "nft -f"
                return Result(mode, n, per, f"over-budget: {tool} alone > {budget:.0f} s",
                              None)
            if sync_limit is not None and floor > sync_limit:
                return Result(mode, n, per, f"floor only: it took > {sync_limit:.0f} s, so the "
                              "sync (as long again) was skipped; first packet measured on the "
                              "floor's rules", floor,
                              first_packet_ms=first_packet_ms(proxier, n, connects))
            floors, fulls = [floor], []
            while True:
                proxier.remove_rules()
                fresh = Proxier(NODE, mode, node)  # a new process: its first sync is full
                fresh.route_localnet_set = proxier.route_localnet_set  # start() set it
                fulls.append(fresh.sync(state))
                if len(fulls) >= pairs or floor > PAIRS_BELOW:
                    break
                proxier.remove_rules()
                floors.append(floor_seconds(proxier, state, budget) or floor)
            floor = statistics.median(floors)
            full = sorted(fulls, key=lambda r: r.duration_seconds)[len(fulls) // 2]
            partial = fresh.sync(drop_one(state))  # the last full sync's rules are in place
            return Result(
                mode,
                n,
                per,
                "ok",
                floor,
                full.duration_seconds,
                full.render_seconds,
                full.apply_seconds,
                partial.duration_seconds,
                partial.apply_seconds,
                partial.rules_written,
                full.rules_total,
                first_packet_ms(proxier, n, connects),
            )
        finally:
            proxier.remove_rules()


def shown(value: float | int | None, spec: str, width: int) -> str:
    return f"{value:>{width}{spec}}" if value is not None else f"{'-':>{width}}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--modes", default="iptables,nftables")
    parser.add_argument("--connects", type=int, default=200)
    parser.add_argument("--apply-budget", type=float, default=300.0)
    parser.add_argument("--sync-limit", type=float, default=None)
    parser.add_argument("--pairs", type=int, default=1,
                        help="median of this many (floor, full sync) pairs where the floor "
                        f"takes < {PAIRS_BELOW:.0f} s")
    parser.add_argument("--out", type=Path, default=default_out("proxy-sync"))
    args = parser.parse_args()
    params = {"sizes": args.sizes, "endpoints": args.endpoints, "connects": args.connects,
              "apply_budget_s": args.apply_budget, "sync_limit_s": args.sync_limit,
              "pairs": args.pairs}
    results: list[Result] = []
    print(
        f"{'mode':9} {'svcs':>5} {'rules':>7} {'full s':>7} {'render':>7} {'apply':>7} "
        f"{'floor':>7} {'part s':>7} {'1st pkt ms':>10}"
    )
    for n in (int(s) for s in args.sizes.split(",")):
        for mode in args.modes.split(","):
            r = measure(mode, n, args.endpoints, args.connects, args.apply_budget,
                        args.sync_limit, args.pairs)
            results.append(r)
            print(
                f"{r.mode:9} {r.services:>5} {shown(r.rules_total, 'd', 7)} "
                f"{shown(r.full_sync_s, '.3f', 7)} {shown(r.full_render_s, '.3f', 7)} "
                f"{shown(r.full_apply_s, '.3f', 7)} {shown(r.floor_s, '.3f', 7)} "
                f"{shown(r.partial_sync_s, '.3f', 7)} {shown(r.first_packet_ms, '.3f', 10)} "
                f"{'' if r.status == 'ok' else r.status}",
                flush=True,
            )
            write_results(args.out, "proxy-sync", params, [asdict(x) for x in results])
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
