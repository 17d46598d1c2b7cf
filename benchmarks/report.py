"""docs/performance.md from a set of benchmark runs: pure text in, text out.

One section per area, in `SECTIONS` order. Each section says how its benchmark ended; a run
that failed, overran its budget or was not run is shown as such (never left out), with any
rows it measured before it stopped. A table row puts nodelab's figure beside the reference
measured in the same run and their ratio, nodelab / reference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from benchmarks.comparisons import Comparison, comparisons
from benchmarks.schema import BenchmarkRun


@dataclass(frozen=True)
class Section:
    title: str
    run: str
    adapter: str
    about: str


SECTIONS: tuple[Section, ...] = (
    Section("Pod startup (kubelet)", "pod-startup", "pod-startup",
            "Pods created through the API server until Ready, on a one-node lab: nodelab's "
            "kubelet with nodelab's runtime, and with containerd as the CRI runtime."),
    Section("110 pods on one node (kubelet)", "pod-density", "pod-startup",
            "A one-node lab per runtime (nodelab's, containerd) filled to 110 pods, upstream's "
            "default maxPods and the node's `pods` capacity: the pods missing (the cluster DNS "
            "pod is already there) are created at once, back to back, each timed from its POST "
            "to its Ready event; then, with the node full and settled, the CPU of the node's "
            "daemons (runtime, kubelet, podnet, proxy, all threads) over 30 s, as % of one "
            "core. The CPU each daemon spent per pod during the burst is in the raw results."),
    Section("Sandbox and container start, memory per pod (CRI runtime)", "runtime-start",
            "runtime-start",
            "CRI calls straight to each runtime's socket, pods alternating between the two. "
            "Memory per pod: PSS the runtime adds per running pod (daemon, monitors, pause), "
            "the workload itself left out."),
    Section("CNI ADD/DEL", "cni-add-del", "cni-add-del",
            "One ADD and one DEL per pod namespace through nodelab's invoker, same conflist, "
            "nodelab's plugins vs the reference plugins in /usr/lib/cni. nodelab's plugins are "
            "thick (docs/cni.md): a C front exec'd per call hands it to the node's CNI daemon. "
            "Profiled: before that split, each plugin exec started a Python interpreter (6x "
            "the reference's ADD); in the daemon, 85% of an ADD was waiting for `ip`/`nsenter` "
            "processes, now two `ip` processes per ADD and one per DEL (pod-side commands from "
            "a thread that entered the pod's netns). DEL is mostly the kernel deleting the "
            "veth, for both."),
    Section("kube-proxy sync", "proxy-sync", "proxy-sync",
            "Services of 10 endpoints in one node namespace. Full sync = render + apply on an "
            "empty namespace, beside the apply tool alone on the same rendered payload (the "
            "floor). Partial sync = one endpoint gone, beside the time of the tool call inside "
            "that sync. A mode and size whose floor overruns the apply budget is shown as over "
            "budget (see the iptables-restore section below for why)."),
    Section("ClusterIP first-packet latency", "proxy-sync", "proxy-first-packet",
            "Median TCP connect time from the node to the ClusterIP that comes last in "
            "KUBE-SERVICES (iptables walks the list; nftables looks it up in a map)."),
    Section("Why a large iptables-restore is slow", "proxy-restore-profile",
            "proxy-restore-profile",
            "The same rendered payload loaded into an empty namespace with one factor changed "
            "at a time (benchmarks/proxy/restore_profile.py). Ratio > 1: the variant is faster "
            "than the payload as rendered, through iptables-nft-restore. What the rows show: "
            "iptables-nft-restore's time grows with the square of the size (×4 per doubling) "
            "while iptables-legacy-restore's stays 10-20× lower and nearly linear; dropping "
            "the `-m comment` matches changes nothing, declaring the chains in a restore of "
            "their own saves at most a third. "
            "`perf record` of the nft restore puts ~90% of its time in user space, in a walk "
            "of a linked list of chain names with strcmp for every `-A` line: one lookup costs "
            "O(chains), the load O(rules × chains). nodelab renders what upstream kube-proxy's "
            "iptables mode renders (a KUBE-SVC-* chain per Service port, a KUBE-SEP-* chain of "
            "two rules per endpoint, about 32 rules per Service of 10 endpoints), so upstream "
            "meets the same wall (kubernetes/kubernetes#96018 reports iptables-nft slowness at "
            "scale); this is the tool's cost, not nodelab's rendering, and one reason upstream "
            "added the nftables mode. The kube-proxy benchmark therefore bounds "
            "the floor (`--apply-budget`) and reports a size that overruns it as over budget "
            "(in an earlier session one 5,000-Service iptables-restore took ~740 s on this "
            "host). `nft -f` of the nftables mode's rules grows faster than linearly too at "
            "5,000 Services, as upstream reports for its own nftables mode "
            "(kubernetes/kubernetes#139328, #139513)."),
    Section("API server throughput and watch latency", "apiserver", "apiserver",
            "The embedded API server over keep-alive HTTPS with the admin certificate, 4 client "
            "threads; watch latency from just before a PATCH to the watcher reading the event."),
    Section("Cluster DNS from a pod", "dns-latency", "dns-latency",
            "A one-node lab; a client in a busybox pod's network namespace (its eth0, routes "
            "and DNS address) sends one A query at a time over UDP and times each from send "
            "to reply: to the kube-dns ClusterIP (kube-proxy's DNAT to the DNS pod), straight "
            "to the DNS pod (no DNAT), and for a name outside the cluster. Reference, same "
            "client, same run: a dnslib server on 127.0.0.1 answering from a fixed record. "
            "Cases interleaved in 10 rounds. Goal (issue #20): p99 < 5 ms from a pod."),
    Section("Workload controllers", "workload-rollouts", "workload-rollouts",
            "A fresh 3-node lab, polled every 50 ms through the API: a DaemonSet until every "
            "node's pod is available, its rolling restart (maxUnavailable 1), and a Job of 20 "
            "`true` pods, 5 at a time, until Complete. Reference, same lab and run: the same "
            "pods made by the benchmark through the API without the controller (bare pods "
            "pinned to the nodes; replaced by hand one node at a time; a client loop keeping "
            "5 running)."),
    Section("Memory per node daemon", "daemon-memory", "daemon-memory",
            "PSS (/proc/<pid>/smaps_rollup) of each daemon of a one-node lab, idle and "
            "again with 30 busybox pods Ready on the node."),
    Section("Recovery from kill -9 (supervision)", "fault-recovery", "fault-recovery",
            "A fresh one-node lab with a two-replica Deployment behind a Service; each daemon "
            "in turn gets SIGKILL, round after round. restart: from the kill until the "
            "supervisor runs a new process of it (for the supervisor itself: until `nodelab up` "
            "has started a new one); working: until every daemon runs, the node and both pods "
            "are Ready and the Service answers from inside the node. docs/reliability.md "
            "says what each fault loses (nothing)."),
    Section("The whole course", "course", "course",
            "notebooks 01-07 through papermill with `fast=True`, each on a fresh lab, as "
            "tests/notebooks does (lab up and down included)."),
)


def number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    elif abs(value) >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}" if unit != "/s" else f"{text}/s"


def ratio_text(item: Comparison) -> str:
    ratio = item.ratio
    if ratio is None:
        return "—"
    return f"{ratio:.2f}×"


def status_line(run: BenchmarkRun) -> str:
    if run.status == "ok":
        return f"Ran in {run.seconds:.0f} s (budget {run.budget_s:.0f} s)."
    if run.status == "over-budget":
        return (f"**Over budget**: stopped after {run.seconds:.0f} s (budget "
                f"{run.budget_s:.0f} s). {run.reason} Rows measured before that are shown.")
    if run.status == "failed":
        return f"**Failed** after {run.seconds:.0f} s: {run.reason}"
    return f"**Not run**: {run.reason}"


def table(items: Sequence[Comparison]) -> list[str]:
    has_reference = any(i.reference is not None or i.reference_name for i in items)
    has_note = any(i.note for i in items)
    head = ["case", "metric", "nodelab"]
    if has_reference:
        head += ["reference", "ratio"]
    if has_note:
        head.append("note")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for item in items:
        cells = [item.case, item.metric, number(item.nodelab, item.unit)]
        if has_reference:
            ref = number(item.reference, item.unit)
            if item.reference_name and item.reference is not None:
                ref = f"{ref} ({item.reference_name})"
            cells += [ref, ratio_text(item)]
        if has_note:
            cells.append(item.note)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render(runs: Mapping[str, BenchmarkRun], machine: Sequence[tuple[str, str]],
           *, run_id: str, plots: Mapping[str, Sequence[str]] | None = None) -> str:
    """The whole page. `plots` maps a section's adapter name to image paths relative to docs/."""
    plots = plots or {}
    out = [
        "# Performance",
        "",
        "Measured by `sudo .venv/bin/python -m benchmarks` (see benchmarks/__init__.py); "
        f"run `{run_id}`, raw results in `benchmarks/results/{run_id}/` (not in git). "
        "Ratio = nodelab ÷ reference measured in the same run: below 1 is better for times "
        "and memory, above 1 for rates. Rerun one area into this page with "
        "`sudo .venv/bin/python -m benchmarks --only AREA --merge benchmarks/results/<run-id> "
        "--docs`.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
    ]
    out += [f"| {key} | {value} |" for key, value in machine]
    for section in SECTIONS:
        out += ["", f"## {section.title}", "", section.about, ""]
        run = runs.get(section.run)
        if run is None:
            out.append(f"**Not run**: benchmark `{section.run}` is not in this run.")
            continue
        out.append(status_line(run))
        if run.params:
            params = ", ".join(f"{k}={v}" for k, v in sorted(run.params.items()))
            out.append(f"Parameters: {params}.")
        items = comparisons(section.adapter, run.results) if run.results else []
        if items:
            out += [""] + table(items)
        for image in plots.get(section.adapter, ()):
            out += ["", f"![{section.title}]({image})"]
    return "\n".join(out) + "\n"
