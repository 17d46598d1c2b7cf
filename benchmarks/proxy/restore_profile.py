"""Why a big `iptables-restore` is slow: the same kube-proxy payload, varied one factor at a time.

    sudo .venv/bin/python benchmarks/proxy/restore_profile.py [--sizes 250,500,1000,2000]
        [--timeout 120] [--out PATH]

For each size (Services of 10 endpoints, rendered by nodelab's iptables mode exactly as
`sync_bench.py` does) it loads the payload into a fresh, empty network namespace and times the
tool alone, with variants that each change one thing:

- `nft`: the payload as nodelab renders it, through `iptables-nft-restore` (this host's default);
- `nft-nocomment`: the same without the `-m comment` matches;
- `nft-two-steps`: declare every chain in one restore, then the rules in a second one;
- `legacy`: the same payload through `iptables-legacy-restore` (the x_tables backend);
- `nft-native`: what nodelab's nftables mode renders for the same Services, through `nft -f`.

The growth from size to size tells whether the cost is linear in the rules or worse. A variant
that overruns `--timeout` is recorded as such and the larger sizes of it are skipped; so is a
variant whose last time, grown with the square of the size, would overrun it (that keeps a
5,000-Service row affordable for the variants that scale).
Every namespace is removed at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.proxy.sync_bench import NODE, cluster  # noqa: E402
from nodelab.proxy import render_plan  # noqa: E402
from nodelab.proxy.iptables.plan import IptablesPlan  # noqa: E402
from nodelab.proxy.nftables.plan import NftPlan  # noqa: E402

COMMENT = re.compile(r' -m comment --comment ("[^"]*"|\S+)')


def nocomment(payload: str) -> list[str]:
    return [COMMENT.sub("", payload)]


def two_steps(payload: str) -> list[str]:
    declare, rules = [], []
    for line in payload.splitlines():
        if line.startswith("-A"):
            rules.append(line)
        else:
            declare.append(line)
            if line.startswith("*") or line == "COMMIT":
                rules.append(line)
    return ["\n".join(declare) + "\n", "\n".join(rules) + "\n"]


VARIANTS: dict[str, tuple[list[str], Callable[[str], list[str]]]] = {
    "nft": (["iptables-nft-restore", "--noflush"], lambda p: [p]),
    "nft-nocomment": (["iptables-nft-restore", "--noflush"], nocomment),
    "nft-two-steps": (["iptables-nft-restore", "--noflush"], two_steps),
    "legacy": (["iptables-legacy-restore", "--noflush"], lambda p: [p]),
    "nft-native": (["nft", "-f", "-"], lambda p: [p]),
}


def time_load(argv: list[str], payloads: list[str], timeout: float) -> float | None:
    netns = "nlb" + secrets.token_hex(3)
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        start = time.monotonic()
        for payload in payloads:
            remaining = timeout - (time.monotonic() - start)
            if remaining <= 0:
                return None
            try:
                subprocess.run(["ip", "netns", "exec", netns, *argv], input=payload.encode(),
                               check=True, timeout=remaining, capture_output=True)
            except subprocess.TimeoutExpired:
                return None
        return time.monotonic() - start
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="250,500,1000,2000")
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    overran: set[str] = set()
    last: dict[str, tuple[int, float]] = {}
    for n in (int(s) for s in args.sizes.split(",")):
        state = cluster(n, args.endpoints)
        ipt = render_plan("iptables", state, NODE)
        nft = render_plan("nftables", state, NODE)
        assert isinstance(ipt, IptablesPlan) and isinstance(nft, NftPlan)
        chains = sum(1 for line in ipt.payload.splitlines() if line.startswith(":"))
        rules = sum(1 for line in ipt.payload.splitlines() if line.startswith("-A"))
        for variant in args.variants.split(","):
            seconds: float | None = None
            previous = last.get(variant)
            guess = previous[1] * (n / previous[0]) ** 2 if previous else 0.0
            if variant in overran:
                status = "skipped: overran at a smaller size"
            elif guess > args.timeout:
                status = f"skipped: about {guess:.0f} s expected (> {args.timeout:.0f} s)"
            else:
                argv, shape = VARIANTS[variant]
                source = nft.script if variant == "nft-native" else ipt.payload
                seconds = time_load(argv, shape(source), args.timeout)
                status = "ok" if seconds is not None else "over-budget"
                if seconds is None:
                    overran.add(variant)
                else:
                    last[variant] = (n, seconds)
            row = {"variant": variant, "services": n, "chains": chains, "rules": rules,
                   "seconds": seconds, "status": status}
            rows.append(row)
            shown = f"{seconds:8.2f}s" if seconds is not None else f"{status:>9}"
            print(f"{variant:14} {n:>5} svcs {chains:>6} chains {rules:>7} rules {shown}",
                  flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "benchmark": "proxy-restore-profile",
            "params": {"sizes": args.sizes, "endpoints": args.endpoints,
                       "timeout_s": args.timeout},
            "results": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
