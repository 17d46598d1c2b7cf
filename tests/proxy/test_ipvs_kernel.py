"""The IPVS plan's ipsets and iptables payload, loaded into a real kernel by the real tools.

This kernel may have no ip_vs, but it has ipsets and the iptables `set` match: in a scratch
network namespace the plan's `ipset restore` script (every set, every entry, in upstream's
entry syntax) goes through the real `ipset restore` and its payload through the real
`iptables-restore --noflush`, so every set, entry and rule the plan writes is one the kernel
takes. The virtual servers themselves need ip_vs and are not tried here.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from nodelab.proxy.ipvs.plan import render_ipvs
from tests.proxy.builders import NODE, endpoints, service, state

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (unshare --net)"),
    pytest.mark.skipif(shutil.which("ipset") is None,
                       reason="needs the ipset tool (apt package ipset, scripts/setup)"),
]

LOAD = """
set -e
ipset restore <<'SETS'
$SETS
SETS
iptables-restore --noflush <<'RULES'
$RULES
RULES
ipset save
echo '#### iptables'
iptables-save
"""


def load(sets: str, rules: str) -> tuple[str, str]:
    script = LOAD.replace("$SETS", sets.rstrip("\n")).replace("$RULES", rules.rstrip("\n"))
    done = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    saved_sets, saved_rules = done.stdout.split("#### iptables\n")
    return saved_sets, saved_rules


def test_the_kernel_takes_every_set_entry_and_rule_of_the_plan() -> None:
    web = service("web", "10.96.0.10", node_port=30080, external_ips=("192.0.2.7",),
                  health_check_node_port=32000, external_traffic_policy="Local")
    dns = service("dns", "10.96.0.53", 53, protocol="UDP", port_name="dns", node_port=30053)
    st = state(web, endpoints("web", "10.244.1.2", "10.244.2.2", nodes={"10.244.2.2": "node2"}),
               dns, endpoints("dns", "10.244.1.5", port=53, protocol="UDP", port_name="dns"))
    plan = render_ipvs(st, NODE, ("10.0.0.2", "127.0.0.1"))
    saved_sets, saved_rules = load(plan.ipset_script, plan.iptables_payload)
    for s in plan.ipsets:
        assert f"create {s.name} {s.type} " in saved_sets
        for entry in s.entries:
            assert f"add {s.name} {entry}" in saved_sets, (s.name, entry)
    assert sum(len(s.entries) for s in plan.ipsets) == 12
    written = [line for line in plan.iptables_payload.splitlines() if line.startswith("-A ")]
    kept = [line for line in saved_rules.splitlines() if line.startswith("-A KUBE-")]
    assert len(kept) == len(written) == 25
    assert "-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT" in kept
    assert ("-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS "
            "dst -j REJECT --reject-with icmp-port-unreachable") in kept
    assert any(line.startswith("-A KUBE-NODE-PORT -p tcp") and "KUBE-NODE-PORT-LOCAL-TCP dst "
               "-j RETURN" in line for line in kept)
