"""The performance page from a results set: rows, ratios, and runs that did not end well."""

from __future__ import annotations

import pytest

from benchmarks.comparisons import comparisons
from benchmarks.report import render
from benchmarks.schema import BenchmarkRun

pytestmark = pytest.mark.unit

MACHINE = [("CPU", "Test CPU, 2 cores"), ("load average", "1.00 / 0.50 / 0.25")]


def runs() -> dict[str, BenchmarkRun]:
    return {
        "runtime-start": BenchmarkRun(
            "runtime-start", "runtime", "ok", 150, 61.0, {"pods": 30},
            [{"runtime": "nodelab", "sandbox_p50_ms": 40.0, "sandbox_p99_ms": 70.0,
              "container_p50_ms": 80.0, "container_p99_ms": 150.0,
              "memory_per_pod_kib": 300},
             {"runtime": "containerd", "sandbox_p50_ms": 125.0, "sandbox_p99_ms": 280.0,
              "container_p50_ms": 80.0, "container_p99_ms": 300.0,
              "memory_per_pod_kib": 3000}]),
        "proxy-sync": BenchmarkRun(
            "proxy-sync", "proxy", "over-budget", 420, 425.3, {"sizes": "1000,5000"},
            [{"mode": "iptables", "services": 1000, "status": "ok", "floor_s": 5.0,
              "rules_total": 31982,
              "full_sync_s": 6.0, "partial_sync_s": 0.3, "partial_apply_s": 0.25,
              "first_packet_ms": 0.08},
             {"mode": "nftables", "services": 1000, "status": "ok", "floor_s": 1.0,
              "full_sync_s": 1.25, "partial_sync_s": 0.2, "partial_apply_s": 0.1,
              "first_packet_ms": 0.04},
             {"mode": "iptables", "services": 5000, "floor_s": None,
              "status": "over-budget: iptables-restore alone > 100 s"},
             {"mode": "nftables", "services": 5000, "floor_s": 75.0,
              "status": "floor only: it took > 60 s, so the sync (as long again) was skipped"}],
            reason="The 5,000-Service sync did not finish."),
        "pod-startup": BenchmarkRun("pod-startup", "kubelet", "failed", 270, 12.0,
                                    reason="exit status 1: containerd did not start"),
        "course": BenchmarkRun("course", "course", "not-run", 0,
                               reason="not part of a --quick run (run without --quick)"),
    }


def test_runtime_rows_put_nodelab_beside_containerd_with_the_ratio() -> None:
    page = render(runs(), MACHINE, run_id="R1")
    assert "| CRI, one busybox container | RunPodSandbox p50 | 40.0 ms | 125 ms (containerd) " \
           "| 0.32× |" in page
    assert "| CRI, one busybox container | memory per running pod (PSS) | 300 KiB | " \
           "3,000 KiB (containerd) | 0.10× |" in page


def test_proxy_rows_compare_with_the_floor_and_keep_the_over_budget_case() -> None:
    page = render(runs(), MACHINE, run_id="R1")
    assert "| iptables, 1000 services (31,982 rules) | full sync | 6.00 s | " \
           "5.00 s (iptables-restore alone) " \
           "| 1.20× |  |" in page
    assert "| nftables, 1000 services | partial sync (one endpoint gone) | 0.200 s | " \
           "0.100 s (nft -f within it) | 2.00× |  |" in page
    assert "| iptables, 5000 services | full sync | — | — | — | " \
           "over-budget: iptables-restore alone > 100 s |" in page
    assert "| nftables, 5000 services | full sync | — | 75.0 s (nft -f alone) | — | floor " \
           "only: it took > 60 s, so the sync (as long again) was skipped |" in page
    assert "**Over budget**: stopped after 425 s (budget 420 s)." in page
    assert "| 1000 services | TCP connect to last ClusterIP, iptables mode | 0.080 ms | " \
           "0.040 ms (nftables mode) | 2.00× |" in page


def test_failed_and_not_run_benchmarks_are_shown_not_omitted() -> None:
    page = render(runs(), MACHINE, run_id="R1")
    assert "## Pod startup (kubelet)" in page
    assert "**Failed** after 12 s: exit status 1: containerd did not start" in page
    assert "**Not run**: not part of a --quick run (run without --quick)" in page
    assert "**Not run**: benchmark `cni-add-del` is not in this run." in page


def test_machine_section_and_plots_are_rendered() -> None:
    page = render(runs(), MACHINE, run_id="R1",
                  plots={"proxy-sync": ["performance/proxy-sync.png"]})
    assert "| CPU | Test CPU, 2 cores |" in page
    assert "| load average | 1.00 / 0.50 / 0.25 |" in page
    assert "![kube-proxy sync](performance/proxy-sync.png)" in page


def test_rates_have_no_reference_and_no_ratio_column() -> None:
    rows = [{"operation": "get pod", "per_s": 1663.6}]
    (item,) = comparisons("apiserver", rows)
    assert (item.nodelab, item.reference, item.ratio, item.better) == (1663.6, None, None,
                                                                      "higher")
    page = render({"apiserver": BenchmarkRun("apiserver", "controlplane", "ok", 75, 30.0,
                                             {}, rows)}, MACHINE, run_id="R1")
    assert "| get pod | throughput | 1,664/s |" in page


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="not one of"):
        BenchmarkRun("x", "y", "crashed", 1)


def test_dns_rows_compare_each_path_with_the_loopback_server() -> None:
    rows = [{"query": "kubernetes.default.svc.cluster.local A", "path": "pod -> ClusterIP",
             "kind": "nodelab", "timeouts": 0, "p50_ms": 0.8, "p99_ms": 4.0},
            {"query": "example.org A", "path": "pod -> ClusterIP", "kind": "nodelab",
             "timeouts": 2, "p50_ms": 0.5, "p99_ms": 2.0},
            {"query": "kubernetes.default.svc.cluster.local A", "path": "loopback",
             "kind": "reference", "timeouts": 0, "p50_ms": 0.4, "p99_ms": 1.0}]
    page = render({"dns-latency": BenchmarkRun("dns-latency", "lab", "ok", 150, 90.0,
                                               {"queries": 1000}, rows)}, MACHINE, run_id="R1")
    assert "| kubernetes.default.svc.cluster.local A: pod -> ClusterIP | p99 | 4.00 ms | " \
           "1.00 ms (dnslib on loopback) | 4.00× |  |" in page
    assert "| example.org A: pod -> ClusterIP | p50 | 0.500 ms | 0.400 ms (dnslib on " \
           "loopback) | 1.25× | 2 timeouts |" in page
    assert len(comparisons("dns-latency", rows)) == 4  # the reference is no row of its own


def test_workload_rows_put_the_controller_beside_bare_pods() -> None:
    rows = [{"case": "Job of 20 completions, parallelism 5, create -> Complete",
             "seconds": 22.0, "reference_s": 11.0, "reference": "a client loop of bare pods",
             "most_active": 5}]
    page = render({"workload-rollouts": BenchmarkRun("workload-rollouts", "controlplane", "ok",
                                                     300, 120.0, {}, rows)},
                  MACHINE, run_id="R1")
    assert "| Job of 20 completions, parallelism 5, create -> Complete | wall time | 22.0 s | " \
           "11.0 s (a client loop of bare pods) | 2.00× | never more than 5 active |" in page


def test_fault_recovery_rows_give_each_daemons_p50_and_p99() -> None:
    rows = [{"daemon": "node1/kubelet", "round": i, "restart_s": r, "recover_s": w}
            for i, (r, w) in enumerate([(0.3, 1.0), (0.5, 2.0), (0.4, 9.0)])]
    rows.append({"daemon": "supervisor", "round": 0, "restart_s": 6.2, "recover_s": 7.8})
    page = render({"fault-recovery": BenchmarkRun("fault-recovery", "lab", "ok", 210, 137.0,
                                                  {"rounds": 3}, rows)}, MACHINE, run_id="R1")
    assert "| kill -9 node1/kubelet | restart p50 | 0.400 s |" in page
    assert "| kill -9 node1/kubelet | working p99 | 9.00 s |" in page  # nearest rank: the max
    assert "| kill -9 supervisor | working p50 | 7.80 s |" in page
    cases = [(c.case, c.metric) for c in comparisons("fault-recovery", rows)]
    assert cases[:4] == [("kill -9 node1/kubelet", m) for m in
                         ("restart p50", "restart p99", "working p50", "working p99")]
    assert len(cases) == 8
