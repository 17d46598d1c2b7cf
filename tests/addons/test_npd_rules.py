"""The node problem detector's pure parts against upstream's kernel messages: the rules of
upstream's kernel-monitor.json / readonly-monitor.json (as the lab ships them) on the lines of
upstream's test data (test/kernel_log_generator/problems, test/e2e/problemmaker, README) and on
real lines from this machine's kernel; /dev/kmsg records; the start time; the config checks;
which node an OOM kill concerns."""

from __future__ import annotations

import json

import pytest

from nodelab.addons.npd.config import ConfigError, parse_config, parse_duration
from nodelab.addons.npd.kmsg import Record, parse_record, start_usec
from nodelab.addons.npd.log_buffer import LogBuffer
from nodelab.addons.npd.monitor import LogMonitor
from nodelab.addons.npd.node_scope import belongs_to_node
from nodelab.lab.addons.npd_config import KERNEL_MONITOR, READONLY_MONITOR, config_files

pytestmark = pytest.mark.unit

# a real cgroup OOM kill on this kernel (6.18, cgroup v1), as dmesg shows it
OOM_KILL = ("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=07be79,mems_allowed=0,"
            "oom_memcg=/nodelab/nla/node1/kubepods/burstable/pod-b1/07be79,task_memcg="
            "/nodelab/nla/node1/kubepods/burstable/pod-b1/07be79,task=sh,pid=12912,uid=0")
KILLED = ("Memory cgroup out of memory: Killed process 12912 (sh) total-vm:20704kB, "
          "anon-rss:15616kB, file-rss:1712kB, shmem-rss:0kB, UID:0 pgtables:76kB "
          "oom_score_adj:0")


def kernel() -> LogMonitor:
    return LogMonitor(parse_config(config_files()["kernel-monitor.json"], "kernel-monitor.json"))


def readonly() -> LogMonitor:
    return LogMonitor(parse_config(config_files()["readonly-monitor.json"], "readonly"))


@pytest.mark.parametrize(("lines", "reason"), [
    # upstream's test/kernel_log_generator/problems/oom_kill (and the e2e problem maker)
    (["Memory cgroup out of memory: Kill process 1012 (heapster) score 1035 or sacrifice child",
      "Killed process 1012 (heapster) total-vm:327128kB, anon-rss:306328kB, file-rss:11132kB, "
      "shmem-rss:12345kB"], "OOMKilling"),
    ([OOM_KILL, KILLED], "OOMKilling"),  # this kernel's
    (["INFO: task umount.aufs:21568 blocked for more than 120 seconds."], "TaskHung"),
    (["INFO: task kworker/0:1:123 blocked for more than 122 seconds."], "TaskHung"),
    (["unregister_netdevice: waiting for lo to become free. Usage count = 1"],
     "UnregisterNetDevice"),
    (["BUG: unable to handle kernel NULL pointer dereference at 0000000000000078"],
     "KernelOops"),
    (["kernel: BUG: unable to handle kernel NULL pointer dereference at TESTING"], "KernelOops"),
    (["divide error: 0000 [#1] SMP "], None),  # upstream's file has a trailing space: no \z
    (["divide error: 0000 [#1] SMP"], "KernelOops"),
    (["EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2"], "Ext4Error"),
    (["EXT4-fs warning (device sda1): ext4_dx_add_entry:2006: Directory index full!"],
     "Ext4Warning"),
    (["Buffer I/O error on dev sdb1, logical block 0, async page read"], "IOError"),
    (["CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0"], "MemoryReadError"),
    (["mce: [Hardware Error]: event severity: corrected"], "CperHardwareErrorCorrected"),
    (["aufs au_opts_verify:1570:docker[0000]: dirperm1 breaks the protection by the "
      "permission bits on the lower branch"], None),
    (["eth0: link becomes ready"], None),
])
def test_temporary_rules_make_warning_events(lines: list[str], reason: str | None) -> None:
    monitor = kernel()
    monitor.initial_status(0.0)
    statuses = [s for i, line in enumerate(lines) for s in monitor.parse(line, 100.0 + i)]
    events = [e for s in statuses for e in s.events]
    assert [e.reason for e in events] == ([reason] if reason else [])
    if reason:
        assert events[0].type == "Warning"
        assert events[0].message == lines[-1].strip()  # the matched line, as upstream
        assert events[0].timestamp == 100.0 + len(lines) - 1
        assert all(c.status == "False" for c in statuses[0].conditions)


def test_conditions_start_false_with_upstream_reasons() -> None:
    status = kernel().initial_status(5.0)
    assert status.source == "kernel-monitor"
    assert [(c.type, c.status, c.reason, c.message) for c in status.conditions] == [
        ("KernelDeadlock", "False", "KernelHasNoDeadlock", "kernel has no deadlock"),
        ("XfsShutdown", "False", "XfsHasNotShutDown", "XFS has not shutdown"),
        ("CperHardwareErrorFatal", "False", "CperHardwareHasNoFatalError",
         "UEFI CPER has no fatal error")]
    [condition] = readonly().initial_status(5.0).conditions
    assert (condition.type, condition.status, condition.transition, condition.reason) == (
        "ReadonlyFilesystem", "False", 5.0, "FilesystemIsNotReadOnly")


def test_docker_hung_sets_kernel_deadlock_once() -> None:
    """upstream's docker_hung problem: TaskHung event, and KernelDeadlock True with an event
    for the change only (the second time, the condition is already True)."""
    monitor = kernel()
    monitor.initial_status(0.0)
    line = "INFO: task docker:20744 blocked for more than 120 seconds."
    first = monitor.parse(line, 10.0)
    assert [e.reason for s in first for e in s.events] == ["TaskHung", "DockerHung"]
    change = first[1].events[0]
    assert change.type == "Warning"
    assert change.message == (
        'Node condition KernelDeadlock is now: True, reason: DockerHung, '
        'message: "INFO: task docker:20744 blocked for more than 120 seconds."')
    deadlock = next(c for c in first[1].conditions if c.type == "KernelDeadlock")
    assert (deadlock.status, deadlock.reason, deadlock.transition) == ("True", "DockerHung", 10.0)
    again = monitor.parse(line, 20.0)
    assert [e.reason for s in again for e in s.events] == ["TaskHung"]
    deadlock = next(c for c in again[1].conditions if c.type == "KernelDeadlock")
    assert deadlock.transition == 10.0


def test_readonly_remount_sets_readonly_filesystem() -> None:
    monitor = readonly()
    monitor.initial_status(0.0)
    [status] = monitor.parse("EXT4-fs (sda1): Remounting filesystem read-only", 3.0)
    [condition] = status.conditions
    assert (condition.status, condition.reason, condition.message) == (
        "True", "FilesystemIsReadOnly", "EXT4-fs (sda1): Remounting filesystem read-only")
    assert status.events[0].reason == "FilesystemIsReadOnly"


def test_shipped_rules_are_upstreams_but_lookback() -> None:
    """Patterns, reasons and conditions as upstream's config/kernel-monitor.json."""
    assert KERNEL_MONITOR["lookback"] == READONLY_MONITOR["lookback"] == "0s"
    rules = {r["reason"]: r["pattern"] for r in KERNEL_MONITOR["rules"]}
    assert rules["OOMKilling"] == (
        "Killed process \\d+ (.+) total-vm:\\d+kB, anon-rss:\\d+kB, file-rss:\\d+kB.*")
    assert rules["TaskHung"] == "task [\\S ]+:\\w+ blocked for more than \\w+ seconds\\."
    assert rules["DockerHung"] == "task docker:\\w+ blocked for more than \\w+ seconds\\."
    assert len(KERNEL_MONITOR["rules"]) == 14
    assert json.loads(config_files()["readonly-monitor.json"]) == READONLY_MONITOR


def test_multi_line_pattern_matches_lines_together() -> None:
    """upstream's older OOM rule spans two lines; the event's message is both."""
    config = dict(KERNEL_MONITOR, rules=[{
        "type": "temporary", "reason": "OOMKilling",
        "pattern": "Kill process \\d+ (.+) score \\d+ or sacrifice child\\nKilled process \\d+ "
                   "(.+) total-vm:\\d+kB, anon-rss:\\d+kB, file-rss:\\d+kB.*"}])
    monitor = LogMonitor(parse_config(json.dumps(config), "t"))
    monitor.initial_status(0.0)
    first = ("Memory cgroup out of memory: Kill process 1012 (heapster) score 1035 or "
             "sacrifice child")
    second = "Killed process 1012 (heapster) total-vm:327128kB, anon-rss:306328kB, file-rss:1kB"
    assert monitor.parse(first, 1.0) == []
    [status] = monitor.parse(second, 2.0)
    assert status.events[0].message == f"{first}\n{second}"


def test_log_buffer_keeps_size_lines() -> None:
    import re
    buffer = LogBuffer(2)
    for line in ("a", "b", "c"):
        buffer.push(line)
    assert buffer.match(re.compile(r"b\nc\Z")) == ["b", "c"]
    assert buffer.match(re.compile(r"a\nb\nc\Z")) == []


@pytest.mark.parametrize(("data", "record"), [
    (b"6,1234,30437333621,-;Memory cgroup out of memory: Killed process 1 (sh)\n",
     Record(6, 1234, 30437333621, "Memory cgroup out of memory: Killed process 1 (sh)")),
    (b"3,77,5000,c,more;eth0: link down\n SUBSYSTEM=net\n DEVICE=n2\n",
     Record(3, 77, 5000, "eth0: link down")),
    (b"12,9,1,-;kernel: BUG: unable to handle kernel NULL pointer dereference at TESTING\n",
     Record(12, 9, 1, "kernel: BUG: unable to handle kernel NULL pointer dereference at TESTING")),
    (b"garbage without a separator\n", None),
    (b"6,x,1;bad sequence\n", None),
    (b"6,1;too few fields\n", None),
])
def test_kmsg_records(data: bytes, record: Record | None) -> None:
    assert parse_record(data) == record


@pytest.mark.parametrize(("uptime", "lookback", "delay", "start"), [
    (1000.0, 0.0, 0.0, 1_000_000_000),  # the lab's: from now on
    (1000.0, 300.0, 0.0, 700_000_000),  # upstream's 5m
    (100.0, 300.0, 0.0, 0),  # booted less than the lookback ago: from boot
    (100.0, 300.0, 200.0, 200_000_000),  # delay after boot wins (may be in the future)
])
def test_start_time_is_later_of_delay_and_lookback(uptime: float, lookback: float,
                                                    delay: float, start: int) -> None:
    assert start_usec(uptime, lookback, delay) == start


@pytest.mark.parametrize(("text", "seconds"), [
    ("0", 0.0), ("0s", 0.0), ("5m", 300.0), ("1h30m", 5400.0), ("300ms", 0.3),
    ("1.5s", 1.5)])
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "x") == pytest.approx(seconds)


@pytest.mark.parametrize(("change", "error"), [
    ({"plugin": "journald"}, "plugin 'journald' is not supported"),
    ({"plugin": "filelog"}, "plugin 'filelog' is not supported"),
    ({"skipList": ["x"]}, "skipList is not supported by the kmsg plugin"),
    ({"lookback": "5 minutes"}, "lookback: invalid duration"),
    ({"bufferSize": -1}, "bufferSize -1"),
    ({"colour": "red"}, "unknown field(s) colour"),
    ({"rules": [{"type": "sometimes", "reason": "X", "pattern": "x"}]},
     "type 'sometimes' is neither"),
    ({"rules": [{"type": "permanent", "condition": "Nope", "reason": "X", "pattern": "x"}]},
     "condition 'Nope', which is not in conditions"),
    ({"rules": [{"type": "temporary", "reason": "X", "pattern": "(unclosed"}]},
     "does not compile"),
    ({"rules": [{"type": "temporary", "reason": "X", "pattern": "x", "severity": "high"}]},
     "rules[0]: unknown field(s) severity"),
])
def test_bad_configs_are_refused_by_name(change: dict[str, object], error: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        parse_config(json.dumps({**KERNEL_MONITOR, **change}), "kernel-monitor.json")
    assert error in str(caught.value)
    assert str(caught.value).startswith("kernel-monitor.json")


@pytest.mark.parametrize(("node_cgroup", "lines", "reported"), [
    ("/nodelab/nla/node1", [OOM_KILL, KILLED], True),
    ("/nodelab/nla/node2", [OOM_KILL, KILLED], False),  # node1's pod: not node2's problem
    ("/nodelab/nla/node", [OOM_KILL, KILLED], False),  # a prefix of the name is not the node
    ("nodelab/nla/node1/", [OOM_KILL, KILLED], True),
    ("/nodelab/nlb/node1", [OOM_KILL, KILLED], False),  # another lab's node1
    ("/nodelab/nla/node2", [KILLED], True),  # no oom-kill line: cannot tell, report it
    ("/nodelab/nla/node2", [OOM_KILL.replace("pid=12912", "pid=7"), KILLED], True),
    ("", [OOM_KILL, KILLED], True),  # no --node-cgroup: upstream's behaviour
])
def test_oom_kill_reported_by_its_node_only(node_cgroup: str, lines: list[str],
                                            reported: bool) -> None:
    assert belongs_to_node(node_cgroup, lines[-1:], lines) is reported
    monitor = LogMonitor(kernel().config,
                         lambda _r, m, b: belongs_to_node(node_cgroup, m, b))
    monitor.initial_status(0.0)
    events = [e.reason for line in lines for s in monitor.parse(line, 1.0) for e in s.events]
    assert events == (["OOMKilling"] if reported else [])


def test_other_problems_are_every_nodes() -> None:
    line = "INFO: task umount.aufs:21568 blocked for more than 120 seconds."
    assert belongs_to_node("/nodelab/nla/node2", [line], [OOM_KILL, line])
