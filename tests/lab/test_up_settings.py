"""`up` on a lab that is up already: settings not given are the lab's; only an explicitly
different one is an error (pure: settings/up.py, and the CLI's argparse defaults)."""

from __future__ import annotations

import pytest

from nodelab.cli import build_parser
from nodelab.errors import NodelabError
from nodelab.lab.settings.up import (
    NODE_MONITOR_GRACE,
    RESTART_BACKOFF,
    SecondsSetting,
    UpSettings,
    check_same,
    conflicts,
)

pytestmark = pytest.mark.unit

# a lab up with 2 nodes, nftables, a 10 s cap and containerd
LAB = dict(nodes=2, proxy_mode="nftables", max_restart_backoff=10.0, runtime="containerd")


@pytest.mark.parametrize("wanted", [
    UpSettings(),  # `Lab.up(name)`, `nodelab up`: whatever the lab has
    UpSettings(nodes=2),
    UpSettings(nodes=2, proxy_mode="nftables", max_restart_backoff=10.0, runtime="containerd"),
])
def test_settings_left_out_or_equal_are_the_labs(wanted: UpSettings) -> None:
    assert conflicts("l", wanted, **LAB) == []  # type: ignore[arg-type]
    check_same("l", wanted, **LAB)  # type: ignore[arg-type]


@pytest.mark.parametrize("wanted, says", [
    (UpSettings(nodes=1), "2 node(s), not 1"),
    (UpSettings(proxy_mode="iptables"), "kube-proxy in nftables mode, not iptables"),
    (UpSettings(max_restart_backoff=300.0), "restart backoff cap of 10s, not 300s"),
    (UpSettings(runtime="nodelab"), "the containerd runtime, not nodelab"),
])
def test_an_explicitly_different_setting_says_what_to_do(wanted: UpSettings, says: str) -> None:
    with pytest.raises(NodelabError) as raised:
        check_same("l", wanted, **LAB)  # type: ignore[arg-type]
    assert says in str(raised.value)
    assert "take it down first (`nodelab down --name l`)" in str(raised.value)


def test_the_upstream_cap_given_explicitly_matches_a_lab_made_without_one() -> None:
    assert conflicts("l", UpSettings(max_restart_backoff=300.0), 1, "iptables", None,
                     "nodelab") == []
    assert conflicts("l", UpSettings(max_restart_backoff=5.0), 1, "iptables", None,
                     "nodelab") == ["a restart backoff cap of 300s (upstream default), not 5s"]


def test_nodelab_up_without_flags_leaves_every_setting_to_the_lab() -> None:
    args = build_parser().parse_args(["up", "--name", "l"])
    assert (args.nodes, args.proxy_mode, args.max_restart_backoff, args.runtime) == \
        (None, None, None, None)
    args = build_parser().parse_args(["up", "--nodes", "2", "--max-restart-backoff", "10s"])
    assert (args.nodes, args.max_restart_backoff) == (2, 10.0)


@pytest.mark.parametrize("setting, inside, outside, says", [
    (RESTART_BACKOFF, [None, 1.0, 10.0, 300.0], [0.5, 301.0, -1.0],
     "max restart backoff {}s is out of range: the kubelet's "
     "crashLoopBackOff.maxContainerRestartPeriod must be 1s to 300s (e.g. 10s for short demos)"),
    (NODE_MONITOR_GRACE, [None, 20.0, 50.0, 600.0], [19.9, 601.0, 0.0],
     "node monitor grace period {}s is out of range: it must be 20s to 600s (the lab's kubelets "
     "renew their Lease every 10s; a shorter grace period marks healthy nodes Unknown)"),
])
def test_a_setting_in_seconds_is_refused_outside_its_range_saying_why(
    setting: SecondsSetting, inside: list[float | None], outside: list[float], says: str
) -> None:
    for seconds in inside:
        setting.check(seconds)
    for seconds in outside:
        with pytest.raises(NodelabError) as refused:
            setting.check(seconds)
        assert str(refused.value) == says.format(f"{seconds:g}")
