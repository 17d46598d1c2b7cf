"""The `nodelab` command: one module per verb (kind-style), each with `register(subparsers)`.

A verb module adds its sub-parser and sets `func` to a callable taking the parsed arguments and
returning the exit code. Errors a user can act on are `NodelabError`s and are printed without a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from nodelab.errors import NodelabError

VERBS = ("doctor", "up", "join", "kind", "down", "status", "daemon", "kubeconfig", "cni",
         "addon", "proxy-plan")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nodelab",
        description="Run a real Kubernetes worker node and see how it works.",
    )
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        module = importlib.import_module(f"nodelab.cli.{verb.replace('-', '_')}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except NodelabError as exc:
        print(f"nodelab {args.verb}: {exc}", file=sys.stderr)
        return 1
    return code
