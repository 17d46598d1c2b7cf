"""Each benchmark's rows turned into comparisons: nodelab's figure beside the reference's.

Pure functions, one per benchmark name, so the renderer stays generic and testable. A
comparison without a reference (API server throughput, daemon memory, the course) has
`reference=None` and no ratio. `better` says which way is good: "lower" for times and memory,
"higher" for rates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.kubelet.burst_floor import p99_floor_s
from benchmarks.percentiles import nearest_rank
from benchmarks.schema import Row


@dataclass(frozen=True)
class Comparison:
    case: str
    metric: str
    unit: str
    nodelab: float | None
    reference: float | None = None
    reference_name: str = ""
    better: str = "lower"
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.nodelab is None or not self.reference:
            return None
        return self.nodelab / self.reference


def _num(row: Row, key: str, scale: float = 1.0) -> float | None:
    value = row.get(key)
    return None if value is None else float(value) * scale


def _pair(rows: list[Row], key: str, reference: str) -> tuple[Row | None, Row | None]:
    ours = next((r for r in rows if r.get(key) == "nodelab"), None)
    theirs = next((r for r in rows if r.get(key) == reference), None)
    return ours, theirs


def _side_by_side(ours: Row | None, theirs: Row | None, case: str, reference: str,
                  metrics: list[tuple[str, str, str, float]]) -> list[Comparison]:
    out = []
    for metric, key, unit, scale in metrics:
        out.append(Comparison(
            case, metric, unit,
            _num(ours, key, scale) if ours else None,
            _num(theirs, key, scale) if theirs else None,
            reference if theirs else ""))
    return out


def pod_startup(rows: list[Row]) -> list[Comparison]:
    """Pods one at a time (`serial`; rows of older runs have no phase), then the node filled at
    once (`burst`, beside the shortest p99 its CPU per pod allows), then the full node's idle
    CPU (`idle`)."""
    def phase(name: str) -> list[Row]:
        return [r for r in rows if r.get("phase", "serial") == name]

    ours, theirs = _pair(phase("serial"), "runtime", "containerd")
    n = (ours or theirs or {}).get("n", "?")
    out = _side_by_side(ours, theirs, f"{n} pods, create -> Ready", "containerd", [
        ("p50", "p50_s", "ms", 1000.0), ("p99", "p99_s", "ms", 1000.0),
        ("mean", "mean_s", "ms", 1000.0), ("max", "max_s", "ms", 1000.0)])
    ours, theirs = _pair(phase("burst"), "runtime", "containerd")
    if ours or theirs:
        row = ours or theirs or {}
        out += _side_by_side(
            ours, theirs,
            f"burst: {row.get('n', '?')} pods at once, node filled to {row.get('pods_on_node')}",
            "containerd", [("create -> Ready p50", "p50_s", "ms", 1000.0),
                           ("create -> Ready p99", "p99_s", "ms", 1000.0),
                           ("create -> Ready max", "max_s", "ms", 1000.0)])
    if ours and (ours.get("cores") or 0) > 0:
        out += _floors(ours, theirs)
    ours, theirs = _pair(phase("idle"), "runtime", "containerd")
    if ours or theirs:
        row = ours or theirs or {}
        out += _side_by_side(
            ours, theirs, f"{row.get('pods_on_node')} pods running, idle", "containerd",
            [("node daemons CPU (% of one core)", "daemons_cpu_pct", "%", 1.0)])
    return out


def _floors(ours: Row, theirs: Row | None) -> list[Comparison]:
    """The burst's p99 beside the shortest p99 the machine's cores allow (burst_floor.py) for
    the CPU a pod cost in the same run: all of nodelab's (its node daemons with the processes
    they waited for, and the control plane), and containerd's alone (with its shims, runc and
    CNI plugins) in the containerd lab's burst."""
    case = f"burst: {ours.get('n', '?')} pods at once"
    pods, cores = int(ours.get("n", 0)), int(ours["cores"])
    span = float(ours.get("post_span_s", 0.0))
    p99 = _num(ours, "p99_s", 1000.0)
    costs = [("nodelab's own floor", "everything nodelab ran",
              sum((ours.get("cpu_ms_per_pod") or {}).values())
              + sum((ours.get("control_plane_cpu_ms_per_pod") or {}).values())),
             ("containerd's floor", "containerd alone",
              ((theirs or {}).get("cpu_ms_per_pod") or {}).get("runtime") or 0.0)]
    return [Comparison(case, f"create -> Ready p99 vs {metric}", "ms", p99,
                       p99_floor_s(pods, cost, cores, span) * 1000.0,
                       f"{what}: {cost:.0f} ms of CPU a pod on {cores} cores, posted over "
                       f"{span:.2f} s")
            for metric, what, cost in costs if cost]


def runtime_start(rows: list[Row]) -> list[Comparison]:
    ours, theirs = _pair(rows, "runtime", "containerd")
    return _side_by_side(ours, theirs, "CRI, one busybox container", "containerd", [
        ("RunPodSandbox p50", "sandbox_p50_ms", "ms", 1.0),
        ("RunPodSandbox p99", "sandbox_p99_ms", "ms", 1.0),
        ("Create+StartContainer p50", "container_p50_ms", "ms", 1.0),
        ("Create+StartContainer p99", "container_p99_ms", "ms", 1.0),
        ("memory per running pod (PSS)", "memory_per_pod_kib", "KiB", 1.0)])


def cni_add_del(rows: list[Row]) -> list[Comparison]:
    out: list[Comparison] = []
    for verb in ("ADD", "DEL"):
        verb_rows = [r for r in rows if r.get("verb") == verb]
        ours, theirs = _pair(verb_rows, "plugins", "reference")
        out += _side_by_side(ours, theirs, f"bridge + host-local {verb}", "reference plugins",
                             [(f"{verb} p50", "p50_ms", "ms", 1.0),
                              (f"{verb} p99", "p99_ms", "ms", 1.0)])
    return out


def proxy_sync(rows: list[Row]) -> list[Comparison]:
    out: list[Comparison] = []
    for row in sorted(rows, key=lambda r: (int(r["services"]), str(r["mode"]))):
        case = f"{row['mode']}, {row['services']} services"
        if row.get("rules_total"):
            case += f" ({row['rules_total']:,} rules)"
        tool = "iptables-restore" if row["mode"] == "iptables" else "nft -f"
        note = "" if row.get("status", "ok") == "ok" else str(row["status"])
        out.append(Comparison(case, "full sync", "s", _num(row, "full_sync_s"),
                              _num(row, "floor_s"), f"{tool} alone", note=note))
        out.append(Comparison(case, "partial sync (one endpoint gone)", "s",
                              _num(row, "partial_sync_s"), _num(row, "partial_apply_s"),
                              f"{tool} within it"))
    return out


def proxy_first_packet(rows: list[Row]) -> list[Comparison]:
    out = []
    nft = {int(r["services"]): r for r in rows if r["mode"] == "nftables"}
    for row in sorted(rows, key=lambda r: int(r["services"])):
        if row["mode"] != "iptables":
            continue
        other = nft.get(int(row["services"]))
        out.append(Comparison(f"{row['services']} services",
                              "TCP connect to last ClusterIP, iptables mode", "ms",
                              _num(row, "first_packet_ms"),
                              _num(other, "first_packet_ms") if other else None,
                              "nftables mode" if other else ""))
    return out


def proxy_restore_profile(rows: list[Row]) -> list[Comparison]:
    out = []
    base = {int(r["services"]): r for r in rows if r["variant"] == "nft"}
    for row in rows:
        ours = base.get(int(row["services"]))
        if row["variant"] == "nft" or ours is None:
            continue
        notes = [f"{name}: {r.get('status')}" for name, r in (("as rendered", ours),
                                                              (row["variant"], row))
                 if r.get("status") != "ok"]
        out.append(Comparison(
            f"{row['services']} services ({row['chains']:,} chains, {row['rules']:,} rules)",
            f"as rendered, iptables-nft-restore vs {row['variant']}", "s",
            _num(ours, "seconds"), _num(row, "seconds"), row["variant"],
            note="; ".join(notes)))
    return out


def apiserver(rows: list[Row]) -> list[Comparison]:
    out = []
    for row in rows:
        if "per_s" in row:
            out.append(Comparison(str(row["operation"]), "throughput", "/s", _num(row, "per_s"),
                                  better="higher"))
        else:
            for key in ("p50_ms", "p99_ms", "max_ms"):
                out.append(Comparison(str(row["operation"]), key.split("_")[0], "ms",
                                      _num(row, key)))
    return out


def daemon_memory(rows: list[Row]) -> list[Comparison]:
    return [Comparison(f"{r.get('phase', 'idle')}: {r['daemon']}", "PSS", "MiB",
                       _num(r, "pss_kib", 1 / 1024), note=str(r.get("note", "")))
            for r in rows]


def course(rows: list[Row]) -> list[Comparison]:
    return [Comparison(str(r["notebook"]), "wall time", "s", _num(r, "seconds"),
                       note="" if r.get("status", "ok") == "ok" else str(r["status"]))
            for r in rows]


def dns_latency(rows: list[Row]) -> list[Comparison]:
    """Each query path from the pod beside the same client's round trip to a dnslib server on
    loopback (the `reference` row)."""
    ref = next((r for r in rows if r.get("kind") == "reference"), None)
    out = []
    for row in rows:
        if row.get("kind") == "reference":
            continue
        note = f"{row['timeouts']} timeouts" if row.get("timeouts") else ""
        for metric, key in (("p50", "p50_ms"), ("p99", "p99_ms")):
            out.append(Comparison(f"{row['query']}: {row['path']}", metric, "ms",
                                  _num(row, key), _num(ref, key) if ref else None,
                                  "dnslib on loopback" if ref else "", note=note))
    return out


def workload_rollouts(rows: list[Row]) -> list[Comparison]:
    """Each controller's wall time beside the same pods made by the benchmark itself."""
    out = []
    for row in rows:
        note = f"never more than {row['most_active']} active" if row.get("most_active") else ""
        out.append(Comparison(str(row["case"]), "wall time", "s", _num(row, "seconds"),
                              _num(row, "reference_s"), str(row.get("reference", "")),
                              note=note))
    return out


def fault_recovery(rows: list[Row]) -> list[Comparison]:
    """Per daemon killed, in the order first killed: p50 and p99 (nearest rank) of the time
    until its new process ran and until the lab worked again. No reference."""
    kills: dict[str, list[Row]] = {}
    for row in rows:
        kills.setdefault(str(row["daemon"]), []).append(row)
    out = []
    for daemon, runs in kills.items():
        for phase, key in (("restart", "restart_s"), ("working", "recover_s")):
            samples = [float(r[key]) for r in runs]
            for metric, fraction in (("p50", 0.5), ("p99", 0.99)):
                out.append(Comparison(f"kill -9 {daemon}", f"{phase} {metric}", "s",
                                      nearest_rank(samples, fraction), note=f"{len(runs)} runs"))
    return out


ADAPTERS: dict[str, Callable[[list[Row]], list[Comparison]]] = {
    "pod-startup": pod_startup,
    "runtime-start": runtime_start,
    "cni-add-del": cni_add_del,
    "proxy-sync": proxy_sync,
    "proxy-first-packet": proxy_first_packet,
    "proxy-restore-profile": proxy_restore_profile,
    "apiserver": apiserver,
    "daemon-memory": daemon_memory,
    "dns-latency": dns_latency,
    "workload-rollouts": workload_rollouts,
    "fault-recovery": fault_recovery,
    "course": course,
}


def comparisons(name: str, rows: list[Row]) -> list[Comparison]:
    adapter = ADAPTERS.get(name)
    if adapter is None:
        raise KeyError(f"no comparison adapter for benchmark {name!r} (add one to ADAPTERS)")
    return adapter(rows)
