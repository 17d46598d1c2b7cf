"""`python -m nodelab.addons.npd`: the node problem detector's program.

Flags are upstream's, as its DaemonSet passes them: `--config.system-log-monitor=a.json,b.json`,
`--logtostderr` (logs go to stderr anyway), `--hostname-override` (else the `NODE_NAME`
environment variable, else the host name), `--k8s-exporter-heartbeat-period` (5m). One more,
nodelab's own: `--node-cgroup=/nodelab/<lab>/$(NODE_NAME)`, the node's cgroup, so an OOM kill
outside it is not reported on this node (`node_scope.py`). Any other flag is refused.

Each configuration gets its own reader of /dev/kmsg (as upstream: one watcher per monitor),
which drops records before its start time and hands each line to its monitor; what the
monitors report is exported from the main thread once a second, or at once when it comes.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import queue
import socket
import sys
import threading
import time
from pathlib import Path

from nodelab.addons.entry import start
from nodelab.addons.incluster import InClusterError
from nodelab.addons.npd.conditions import HEARTBEAT_PERIOD, UPDATE_PERIOD
from nodelab.addons.npd.config import ConfigError, MonitorConfig, parse_config, parse_duration
from nodelab.addons.npd.exporter import Exporter
from nodelab.addons.npd.kmsg import records, start_usec
from nodelab.addons.npd.monitor import LogMonitor, Status
from nodelab.addons.npd.node_scope import belongs_to_node

log = logging.getLogger("node-problem-detector")
NODE_WAIT = 5.0  # seconds between tries to read the Node at start (--apiserver-wait-interval)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="node-problem-detector", allow_abbrev=False)
    parser.add_argument("--config.system-log-monitor", dest="configs", default="",
                        help="comma-separated system log monitor configuration files")
    parser.add_argument("--logtostderr", action="store_true")
    parser.add_argument("--hostname-override", default="")
    parser.add_argument("--k8s-exporter-heartbeat-period", default="5m")
    parser.add_argument("--node-cgroup", default="",
                        help="the node's cgroup: OOM kills outside it are another node's")
    return parser


CAUGHT_UP = "{source}: read the kernel log up to now ({skipped} records before the start " \
            "time skipped); reporting what comes next"


def watch(config: MonitorConfig, monitor: LogMonitor, out: queue.Queue[Status | str]) -> None:
    """Read the kernel log from the monitor's start time on; put what it reports on `out`, and
    a line to log once it has read every record logged before (after the statuses they made)."""
    first = start_usec(time.clock_gettime(time.CLOCK_MONOTONIC), config.lookback, config.delay)
    boot = time.time() - time.clock_gettime(time.CLOCK_MONOTONIC)
    skipped = 0
    try:
        for record in records(config.log_path):
            if record is None:
                out.put(CAUGHT_UP.format(source=config.source, skipped=skipped))
                continue
            if record.usec < first or not record.message:
                skipped += 1
                continue
            for status in monitor.parse(record.message, boot + record.usec / 1e6):
                log.info("new status from %s: %s", config.source,
                         [(e.reason, e.message) for e in status.events])
                out.put(status)
    except OSError as exc:
        log.error("cannot read the kernel log %s: %s", config.log_path, exc)
        os._exit(1)  # as upstream: a detector that cannot watch exits, and is restarted


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = start("node-problem-detector")
    if started is None:
        return 1
    client, stop = started
    node = args.hostname_override or os.environ.get("NODE_NAME") or socket.gethostname()
    try:
        heartbeat = parse_duration(args.k8s_exporter_heartbeat_period,
                                   "--k8s-exporter-heartbeat-period") or HEARTBEAT_PERIOD
        configs = [parse_config(Path(p).read_text(), p)
                   for p in args.configs.split(",") if p]
    except (ConfigError, OSError) as exc:
        print(f"node-problem-detector: {exc}", file=sys.stderr)
        return 1
    if not configs:
        print("node-problem-detector: no monitor configured (--config.system-log-monitor)",
              file=sys.stderr)
        return 1
    for config in configs:
        if config.metrics_reporting:
            log.info("%s: metricsReporting is set, but this detector has no Prometheus "
                     "exporter: problem metrics are not served", config.source)
    exporter = Exporter(client, node, heartbeat)
    while not stop.is_set():
        try:
            exporter.read_node()
            break
        except (OSError, InClusterError) as exc:
            log.error("can't get node object %s: %s", node, exc)
            stop.wait(NODE_WAIT)
    statuses: queue.Queue[Status | str] = queue.Queue()
    accepts = functools.partial(_in_node, args.node_cgroup)
    for config in configs:
        monitor = LogMonitor(config, accepts)
        statuses.put(monitor.initial_status(time.time()))
        threading.Thread(target=watch, args=(config, monitor, statuses), daemon=True,
                         name=f"watch-{config.source}").start()
    log.info("watching the kernel log for node %s (%s)", node,
             ", ".join(c.source for c in configs))
    tick = time.monotonic()
    while not stop.is_set():
        with contextlib.suppress(queue.Empty):
            item = statuses.get(timeout=max(0.0, tick - time.monotonic()))
            if isinstance(item, str):  # a reader caught up: what it read before is exported
                log.info("%s", item)
            else:
                exporter.export(item)
        if time.monotonic() >= tick:
            exporter.sync_conditions()
            tick = time.monotonic() + UPDATE_PERIOD
    return 0


def _in_node(node_cgroup: str, _reason: str, matched: list[str], lines: list[str]) -> bool:
    return belongs_to_node(node_cgroup, matched, lines)


if __name__ == "__main__":
    sys.exit(main())
