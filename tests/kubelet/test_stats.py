"""Unit tests of the kubelet's stats: the Summary document, `/metrics/resource`'s text, the
parsers behind them (cgroup working set, /proc/net/dev) and Go's float formatting."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodelab.host.cgroup_stats import read_v2_group, working_set
from nodelab.kubelet.eviction.thresholds import Observation
from nodelab.kubelet.stats import resource_metrics
from nodelab.kubelet.stats.sources import parse_net_dev
from nodelab.kubelet.stats.summary import (
    ContainerSample,
    CpuRates,
    Interface,
    Memory,
    NodeSample,
    PodSample,
    nano_cores,
    summary,
)

pytestmark = pytest.mark.unit

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z in ns
S = 1_000_000_000


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0"), (4.5, "4.5"), (1.0, "1"), (123456.0, "123456"), (999999.0, "999999"),
    (1234567.0, "1.234567e+06"), (1e6, "1e+06"), (2.5e9, "2.5e+09"), (0.0001, "0.0001"),
    (0.00001, "1e-05"), (0.123, "0.123"), (-3.0, "-3"), (1700000000.5, "1.7000000005e+09"),
    (float("nan"), "NaN"), (float("inf"), "+Inf"),
])
def test_go_float_matches_strconv_g(value: float, text: str) -> None:
    assert resource_metrics.go_float(value) == text


@pytest.mark.parametrize(("previous", "current", "expected"), [
    (None, (5 * S, T0), None),                        # the first sample has no rate
    ((0, T0), (S // 2, T0 + S), S // 2),              # half a core for a second
    ((S, T0), (3 * S, T0 + S), 2 * S),                # two cores
    ((5 * S, T0), (S, T0 + S), None),                 # the counter went back: restarted
    ((S, T0), (2 * S, T0), None),                     # no time passed
])
def test_nano_cores(previous: tuple[int, int] | None, current: tuple[int, int],
                    expected: int | None) -> None:
    assert nano_cores(previous, current) == expected


@pytest.mark.parametrize(("usage", "inactive", "expected"), [
    (1000, 300, 700), (1000, None, 1000), (100, 300, 0), (None, 5, None),
])
def test_working_set_is_usage_less_inactive_file(usage: int | None, inactive: int | None,
                                                 expected: int | None) -> None:
    assert working_set(usage, inactive) == expected


def test_v2_group_reads_working_set_rss_and_faults(tmp_path: Path) -> None:
    (tmp_path / "memory.current").write_text("10000\n")
    (tmp_path / "memory.stat").write_text(
        "anon 4000\nfile 6000\ninactive_file 2500\npgfault 77\npgmajfault 3\n")
    (tmp_path / "cpu.stat").write_text("usage_usec 1500\n")
    stats = read_v2_group("nodelab/a/node1", tmp_path, now=1.0)
    assert (stats.memory_working_set, stats.memory_rss, stats.page_faults,
            stats.major_page_faults, stats.cpu_usage_ns) == (7500, 4000, 77, 3, 1_500_000)


NET_DEV = """\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1200      12    0    0    0     0          0         0     1200      12    0    0    0     0       0          0
  eth0:   98765     100    2    0    0     0          0         0    54321      90    1    0    0     0       0          0
nlb-pods:     10       1    0    0    0     0          0         0       20       2    0    0    0     0       0          0
"""  # noqa: E501


def test_net_dev_leaves_out_loopback() -> None:
    assert parse_net_dev(NET_DEV) == (Interface("eth0", 98765, 2, 54321, 1),
                                      Interface("nlb-pods", 10, 0, 20, 0))


def _container(name: str, cpu: int, at: int, *, pod: str = "web", uid: str = "u1",
               ws: int = 2048, limit: int | None = None) -> ContainerSample:
    return ContainerSample(pod_uid=uid, pod_name=pod, pod_namespace="default", name=name,
                           id=f"c-{pod}-{name}", start_ns=T0 - 60 * S, at_ns=at,
                           cpu_core_nanoseconds=cpu,
                           memory=Memory(working_set=ws, usage=ws + 100, rss=ws // 2,
                                         limit=limit),
                           rootfs_used=4096, rootfs_inodes_used=3, logs_used=512)


NODE_MEMORY = Memory(working_set=3 * 2**30, usage=4 * 2**30, rss=2**30, page_faults=10,
                     major_page_faults=1, limit=8 * 2**30)
OBSERVED = {"nodefs.available": Observation(60 * 2**30, 100 * 2**30),
            "nodefs.inodesFree": Observation(900, 1000),
            "pid.available": Observation(4000, 4194304)}


def test_summary_fields_and_rates_over_two_samples() -> None:
    rates = CpuRates()
    pod = PodSample("u1", "web", "default", T0 - 61 * S, T0, cpu_core_nanoseconds=10 * S,
                    memory=Memory(working_set=5000, usage=6000),
                    interfaces=(Interface("eth0", 1, 0, 2, 0),), process_count=2)
    first = summary("node1", "2023-11-14T22:00:00Z",
                    NodeSample(T0, 100 * S, NODE_MEMORY, (Interface("eth0", 5, 0, 6, 0),)),
                    OBSERVED, [pod], [_container("app", 10 * S, T0, limit=10000)], rates)
    node = first["node"]
    assert node["cpu"] == {"time": "2023-11-14T22:13:20Z", "usageCoreNanoSeconds": 100 * S}
    assert node["memory"] == {"time": "2023-11-14T22:13:20Z", "availableBytes": 5 * 2**30,
                              "usageBytes": 4 * 2**30, "workingSetBytes": 3 * 2**30,
                              "rssBytes": 2**30, "pageFaults": 10, "majorPageFaults": 1}
    assert node["network"]["name"] == "eth0" and node["network"]["rxBytes"] == 5
    assert node["fs"]["usedBytes"] == 40 * 2**30 and node["fs"]["inodesUsed"] == 100
    assert node["rlimit"] == {"time": "2023-11-14T22:13:20Z", "maxpid": 4194304,
                              "curproc": 4190304}
    [web] = first["pods"]
    assert web["podRef"] == {"name": "web", "namespace": "default", "uid": "u1"}
    assert web["startTime"] == "2023-11-14T22:12:19Z"
    assert web["process_stats"] == {"process_count": 2}
    assert web["ephemeral-storage"]["usedBytes"] == 4096 + 512
    [app] = web["containers"]
    assert app["startTime"] == "2023-11-14T22:12:20Z"
    assert app["memory"]["availableBytes"] == 10000 - 2048
    assert app["rootfs"]["usedBytes"] == 4096 and app["logs"]["usedBytes"] == 512
    assert "usageNanoCores" not in app["cpu"]  # no earlier sample yet

    second = summary("node1", "2023-11-14T22:00:00Z", NodeSample(T0 + 2 * S, 101 * S,
                                                                 NODE_MEMORY),
                     OBSERVED, [PodSample("u1", "web", "default", T0 - 61 * S, T0 + 2 * S,
                                          cpu_core_nanoseconds=11 * S)],
                     [_container("app", 11 * S, T0 + 2 * S)], rates)
    assert second["node"]["cpu"]["usageNanoCores"] == S // 2
    assert second["pods"][0]["cpu"]["usageNanoCores"] == S // 2
    assert second["pods"][0]["containers"][0]["cpu"]["usageNanoCores"] == S // 2
    assert "availableBytes" not in second["pods"][0]["containers"][0]["memory"]  # no limit


def test_summary_sums_containers_when_the_runtime_has_no_pod_stats() -> None:
    doc = summary("node1", "x", NodeSample(T0, None, Memory()), {}, [],
                  [_container("a", 2 * S, T0, ws=100), _container("b", 3 * S, T0, ws=50)],
                  CpuRates())
    [pod] = doc["pods"]
    assert [c["name"] for c in pod["containers"]] == ["a", "b"]
    assert pod["cpu"]["usageCoreNanoSeconds"] == 5 * S
    assert pod["memory"]["workingSetBytes"] == 150
    assert doc["node"]["cpu"] == {"time": "2023-11-14T22:13:20Z"}


def test_cpu_rates_forget_what_is_gone() -> None:
    rates = CpuRates()
    summary("n", "x", NodeSample(T0, S, Memory()), {}, [], [_container("a", S, T0)], rates)
    assert set(rates.last) == {"node", "pod/u1", "container/c-web-a"}
    summary("n", "x", NodeSample(T0 + S, S, Memory()), {}, [], [], rates)
    assert set(rates.last) == {"node"}


RESOURCE_TEXT = """\
# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 1.5 1700000000000
container_cpu_usage_seconds_total{container="side",namespace="default",pod="web"} 0.25 1700000000000
# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 2048 1700000000000
container_memory_working_set_bytes{container="side",namespace="default",pod="web"} 2.5e+06 1700000000000
# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="app",namespace="default",pod="web"} 1.69999994e+09
container_start_time_seconds{container="side",namespace="default",pod="web"} 1.69999994e+09
# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 100 1700000000000
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 3.221225472e+09 1700000000000
# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds
# TYPE pod_cpu_usage_seconds_total counter
pod_cpu_usage_seconds_total{namespace="default",pod="web"} 1.75 1700000000000
# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes
# TYPE pod_memory_working_set_bytes gauge
pod_memory_working_set_bytes{namespace="default",pod="web"} 2.502048e+06 1700000000000
# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE resource_scrape_error gauge
resource_scrape_error 0
"""  # noqa: E501


def test_resource_metrics_text_as_a_kubelet_writes_it() -> None:
    containers = [_container("side", S // 4, T0, ws=2_500_000),
                  _container("app", 3 * S // 2, T0)]
    found = resource_metrics.samples(NodeSample(T0, 100 * S, NODE_MEMORY), [], containers)
    assert resource_metrics.render(found, scrape_error=False) == RESOURCE_TEXT


@pytest.mark.parametrize(("node", "pods", "expected"), [
    # nothing measured: only the error gauge, set
    (None, [], ["resource_scrape_error 1"]),
    # a pod's own figures win over its containers' sums; label values are escaped
    (None, [PodSample("u1", 'we"b', "default", T0, T0, 7 * S, Memory(working_set=9))],
     ['pod_cpu_usage_seconds_total{namespace="default",pod="we\\"b"} 7 1700000000000',
      'pod_memory_working_set_bytes{namespace="default",pod="we\\"b"} 9 1700000000000',
      "resource_scrape_error 1"]),
])
def test_resource_metrics_samples(node: NodeSample | None, pods: list[PodSample],
                                  expected: list[str]) -> None:
    text = resource_metrics.render(resource_metrics.samples(node, pods, []), scrape_error=True)
    assert [line for line in text.splitlines() if not line.startswith("#")] == expected
