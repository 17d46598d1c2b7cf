"""`python -m nodelab.runtime`: the per-node CRI runtime process (runs until SIGTERM)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from pathlib import Path

from nodelab.cni.invoker import default_plugin_path
from nodelab.errors import NodelabError
from nodelab.host.daemon import refuse_to_start, setup_logging, stop_signals
from nodelab.runtime.config import RuntimeConfig
from nodelab.runtime.hostns import rejoin_host_mount_namespace
from nodelab.runtime.images.layers import DEFAULT_MAX_LAYER_BYTES
from nodelab.runtime.server import RuntimeServer


def parse_args(argv: list[str] | None = None) -> RuntimeConfig:
    parser = argparse.ArgumentParser(prog="python -m nodelab.runtime",
                                     description="nodelab's CRI v1 runtime (runc + conmon)")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--cni-conf-dir", type=Path, default=None,
                        help="CNI network configs; without it pods get loopback only")
    parser.add_argument("--cni-bin-dir", default="",
                        help="colon-separated CNI plugin dirs (default: nodelab's plugins, then "
                             "/usr/lib/cni and /opt/cni/bin)")
    parser.add_argument("--cgroup-root", default="nodelab/runtime",
                        help="cgroup path (under nodelab/) that holds every pod's cgroups")
    parser.add_argument("--netns-prefix", default="",
                        help="prefix of pod netns names (must start with 'nl')")
    parser.add_argument("--insecure-registry", action="append", default=[],
                        help="host:port of a registry to pull from over plain http")
    parser.add_argument("--pids-limit", type=int, default=0)
    parser.add_argument("--stream-address", default="127.0.0.1")
    parser.add_argument("--stream-port", type=int, default=0)
    parser.add_argument("--max-layer-size", type=int, default=DEFAULT_MAX_LAYER_BYTES,
                        help="largest uncompressed image layer unpacked, in bytes (a pull of a "
                             "larger one fails: decompression bombs stop there)")
    parser.add_argument("--runc", default="runc")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    setup_logging("runtime", args.log_level)
    return RuntimeConfig(
        state_dir=args.state_dir,
        socket=args.socket,
        cni_conf_dir=args.cni_conf_dir,
        cni_bin_dirs=[Path(p) for p in args.cni_bin_dir.split(":") if p] or default_plugin_path(),
        cgroup_root=args.cgroup_root,
        netns_prefix=args.netns_prefix,
        insecure_registries=args.insecure_registry,
        runc=args.runc,
        pids_limit=args.pids_limit,
        stream_address=args.stream_address,
        stream_port=args.stream_port,
        max_layer_size=args.max_layer_size,
    )


def main(argv: list[str] | None = None) -> int:
    cwd = os.getcwd()
    try:
        moved = rejoin_host_mount_namespace()
    except OSError as exc:
        return refuse_to_start("runtime", exc)
    with contextlib.suppress(OSError):
        os.chdir(cwd)
    try:
        config = parse_args(argv)
        if moved:
            logging.getLogger("nodelab.runtime").info(
                "re-joined the host mount namespace (started by `ip netns exec`)")
        server = RuntimeServer(config)
        server.start()
    except (NodelabError, ValueError) as exc:
        return refuse_to_start("runtime", exc)
    done = stop_signals()
    logging.getLogger("nodelab.runtime").info("serving CRI on %s", config.socket)
    done.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
