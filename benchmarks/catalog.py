"""Every benchmark the runner knows: its script, its arguments (full and --quick), its budget.

Budgets are sized for the 2-core machine the suite is developed on: the full budgets add up to
42.5 minutes and the --quick ones to 5, within the runner's default totals of 43 (5) minutes
even when every benchmark overruns (each overrun adds at most the runner's grace
for the script's cleanup; typical full runs take about 20 minutes). Last measured runs against
their budgets: runtime-start 18 s of 60, pod-startup 123 s of 210, workload-rollouts 121 s of
240, the course 171 s of 360, fault-recovery 137 s of 210 (at load 8-15); room for the last
was made by trimming the first four. The course, the cluster DNS, the workload controllers
and the fault recovery do not run in --quick (each brings up a lab of its own: close to a
minute before anything is measured).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

BENCHMARKS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Benchmark:
    name: str
    area: str
    script: str
    args: tuple[str, ...]
    budget_s: float
    quick_args: tuple[str, ...] | None = None
    quick_budget_s: float = 0.0
    needs_root: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return BENCHMARKS_DIR / self.script

    def argv(self, quick: bool) -> tuple[str, ...] | None:
        """The arguments for this mode, or None where it does not run in --quick."""
        return self.quick_args if quick else self.args

    def budget(self, quick: bool) -> float:
        return self.quick_budget_s if quick else self.budget_s


CATALOG: tuple[Benchmark, ...] = (
    Benchmark("pod-startup", "kubelet", "kubelet/pod_startup.py", ("--pods", "30", "--fill", "0"),
              210, ("--pods", "5", "--fill", "0"), 70),
    Benchmark("pod-density", "kubelet", "kubelet/pod_startup.py",
              ("--pods", "0", "--fill", "110", "--idle", "30"), 600, None, 0),
    Benchmark("runtime-start", "runtime", "runtime/pod_start_latency.py", ("--pods", "30"), 60,
              ("--pods", "5"), 40),
    Benchmark("cni-add-del", "cni", "cni/add_del_latency.py", ("--pods", "100"), 60,
              ("--pods", "20"), 25),
    Benchmark("proxy-sync", "proxy", "proxy/sync_bench.py",
              ("--sizes", "100,1000,5000", "--apply-budget", "170", "--sync-limit", "60",
               "--pairs", "5"), 360,
              ("--sizes", "100,1000", "--connects", "50", "--apply-budget", "30", "--pairs", "3"),
              50),
    Benchmark("proxy-restore-profile", "proxy", "proxy/restore_profile.py",
              ("--sizes", "250,500,1000,5000", "--timeout", "60"), 90,
              ("--sizes", "250,500", "--timeout", "10"), 15),
    Benchmark("apiserver", "controlplane", "controlplane/bench_apiserver.py",
              ("--pods", "1000", "--seconds", "4"), 60,
              ("--pods", "200", "--seconds", "1", "--watchers", "10"), 25, needs_root=False),
    Benchmark("daemon-memory", "lab", "lab/daemon_memory.py", ("--pods", "30"), 150,
              ("--pods", "5"), 75),
    Benchmark("dns-latency", "lab", "lab/dns_latency.py", ("--queries", "1000"), 150, None, 0),
    Benchmark("workload-rollouts", "controlplane", "controlplane/workload_rollouts.py",
              ("--nodes", "3", "--completions", "20", "--parallelism", "5"), 240, None, 0),
    Benchmark("fault-recovery", "lab", "lab/fault_recovery.py", ("--rounds", "5"), 210, None, 0),
    Benchmark("course", "course", "course/course_time.py", (), 360, None, 0),
)

AREAS = tuple(sorted({b.area for b in CATALOG}))
