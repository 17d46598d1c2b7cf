"""The IPVS plan's ipsets and iptables payload, loaded into a real kernel.

This kernel may have no ip_vs, but it has ipsets and the iptables `set` match: in a scratch
network namespace the plan's sets are created (pyroute2's ipset netlink) and its payload goes
through the real `iptables-restore --noflush`, so every rule the plan writes is one the kernel
takes. The virtual servers themselves need ip_vs and are not tried here.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nodelab.proxy.ipvs_plan import render_ipvs
from tests.proxy.builders import NODE, endpoints, service, state

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (unshare --net)")

LOAD = """
import json, subprocess, sys
from pyroute2.ipset import IPSet
sets, payload = json.load(sys.stdin)
ipset = IPSet()
for name, kind in sets:
    extra = {"bitmap_ports_range": (0, 65535)} if kind == "bitmap:port" else {}
    ipset.create(name, stype=kind, comment=True, **extra)
subprocess.run(["iptables-restore", "--noflush"], input=payload, text=True, check=True)
print(subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout)
"""


def load(payload: str, sets: list[tuple[str, str]]) -> str:
    import json

    done = subprocess.run(["unshare", "--net", sys.executable, "-c", LOAD],
                          input=json.dumps([sets, payload]), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_kernel_takes_every_rule_of_the_plan() -> None:
    svc = service("web", "10.96.0.10", node_port=30080, external_ips=("192.0.2.7",))
    plan = render_ipvs(state(svc, endpoints("web", "10.244.1.2")), NODE, ("10.0.0.2",))
    saved = load(plan.iptables_payload, [(s.name, s.type) for s in plan.ipsets])
    written = [line for line in plan.iptables_payload.splitlines() if line.startswith("-A ")]
    kept = [line for line in saved.splitlines() if line.startswith("-A KUBE-")]
    assert len(kept) == len(written) == 24
    assert "-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT" in kept
    assert ("-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS "
            "dst -j REJECT --reject-with icmp-port-unreachable") in kept
    assert any(line.startswith("-A KUBE-POSTROUTING") and "KUBE-LOOP-BACK dst,dst,src "
               "-j MASQUERADE" in line for line in kept)
