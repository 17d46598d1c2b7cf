"""`nodelab doctor [--json]`: what this host can do for a lab, and how to get what it lacks."""

from __future__ import annotations

import argparse
import json

from nodelab.host.doctor import diagnose, lab_ready, render


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("doctor", help="check what this host can do for a lab")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    findings = diagnose()
    ready = lab_ready(findings)
    if args.json:
        print(json.dumps({"lab_ready": ready, "checks": [f.to_json() for f in findings]},
                         indent=2))
    else:
        print(render(findings))
        print()
        print("a real lab can run here" if ready else
              "a real lab cannot run here: fix the MISSING rows above (notebooks show plans)")
    return 0
