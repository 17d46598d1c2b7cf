"""Container log rotation decisions (upstream's ContainerLogManager) and tail reading."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nodelab.kubelet.config import KubeletConfig
from nodelab.kubelet.container_logs import read_tail
from nodelab.kubelet.log_rotation import plan_rotation

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 12, 3, 4, 5, 6, tzinfo=dt.timezone.utc)
MI = 1024 * 1024


@pytest.mark.parametrize(("size", "rotated", "rotate_to", "compress", "remove"), [
    (10 * MI, [], None, (), ()),
    (10 * MI + 1, [], "0.log.20261203-040506", (), ()),
    (11 * MI, ["0.log.20261203-040000"], "0.log.20261203-040506",
     ("0.log.20261203-040000",), ()),
    (11 * MI, ["0.log.20261203-010000.gz", "0.log.20261203-020000.gz",
               "0.log.20261203-030000.gz", "0.log.20261203-040000"],
     "0.log.20261203-040506", ("0.log.20261203-040000",), ("0.log.20261203-010000.gz",)),
    (1, ["0.log.20261203-010000.gz", "0.log.20261203-020000.gz", "0.log.20261203-030000.gz",
         "0.log.20261203-035000.gz", "0.log.20261203-040000"],
     None, (), ("0.log.20261203-010000.gz",)),
])
def test_plan(size: int, rotated: list[str], rotate_to: str | None,
              compress: tuple[str, ...], remove: tuple[str, ...]) -> None:
    plan = plan_rotation("0.log", size, rotated, NOW)
    assert (plan.rotate_to, plan.compress, plan.remove) == (rotate_to, compress, remove)


def test_defaults_and_config_are_upstreams() -> None:
    assert (KubeletConfig().container_log_max_size, KubeletConfig().container_log_max_files) == (
        10 * MI, 5)
    config = KubeletConfig.from_document({"containerLogMaxSize": "1Mi",
                                          "containerLogMaxFiles": 3,
                                          "containerLogMonitorInterval": "2s"})
    assert (config.container_log_max_size, config.container_log_max_files,
            config.container_log_monitor_interval) == (MI, 3, 2.0)


def test_tail_reads_from_the_end(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    log.write_text("".join(f"2026-01-01T00:00:00Z stdout F line {i}\n" for i in range(50000)))
    text, size = read_tail(log, 3, block=4096)
    assert text.splitlines()[-1].endswith("line 49999") and len(text.splitlines()) == 3
    assert size == log.stat().st_size
    assert read_tail(log, 0)[0] == ""
