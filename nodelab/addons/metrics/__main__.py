"""`python -m nodelab.addons.metrics`: the metrics server in its pod (metrics-server's flags).

    --secure-port 4443 --tls-cert-file F --tls-private-key-file F --metric-resolution 15s
    --kubelet-preferred-address-types InternalIP,ExternalIP,Hostname
    --kubelet-use-node-status-port --kubelet-insecure-tls
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time

from nodelab.addons.entry import start
from nodelab.addons.incluster import InClusterError, Reflector
from nodelab.addons.metrics.scraper import Scraper, kubelet_target
from nodelab.addons.metrics.server import MetricsServer, RequestHeaderConfig
from nodelab.addons.metrics.storage import Storage

log = logging.getLogger("nodelab.addons.metrics")
AUTHENTICATION = "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication"
MIN_RESOLUTION = 10.0


def _seconds(text: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit) and text[:-len(unit)].replace(".", "", 1).isdigit():
            return float(text[:-len(unit)]) * units[unit]
    raise argparse.ArgumentTypeError(f"invalid duration {text!r} (like 15s, 1m)")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="metrics-server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--secure-port", type=int, default=10250)
    parser.add_argument("--bind-address", default="0.0.0.0")
    parser.add_argument("--tls-cert-file", required=True)
    parser.add_argument("--tls-private-key-file", required=True)
    parser.add_argument("--metric-resolution", type=_seconds, default=15.0)
    parser.add_argument("--kubelet-preferred-address-types",
                        default="Hostname,InternalDNS,InternalIP,ExternalDNS,ExternalIP")
    parser.add_argument("--kubelet-use-node-status-port", action="store_true")
    parser.add_argument("--kubelet-insecure-tls", action="store_true")
    args = parser.parse_args(argv)
    if args.metric_resolution < MIN_RESOLUTION:
        parser.error(f"--metric-resolution must be at least {MIN_RESOLUTION:.0f}s "
                     "(metrics-server's minimum)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    ready = start("metrics-server")
    if ready is None:
        return 2
    client, stop = ready
    while True:  # the front proxy's CA is needed before serving
        try:
            headers = RequestHeaderConfig(client.get(AUTHENTICATION).get("data") or {})
            break
        except (OSError, ValueError, InClusterError) as exc:
            log.warning("cannot read extension-apiserver-authentication (%s); retrying", exc)
            if stop.wait(2.0):
                return 0
    storage = Storage(int(args.metric_resolution * 1e9))
    nodes = Reflector(client, "/api/v1/nodes", lambda: None)
    pods = Reflector(client, "/api/v1/pods", lambda: None)
    for reflector in (nodes, pods):
        threading.Thread(target=reflector.run, args=(stop,), daemon=True).start()
    server = MetricsServer((args.bind_address, args.secure_port), args.tls_cert_file,
                           args.tls_private_key_file, headers, client, storage, nodes, pods)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log.info("serving metrics.k8s.io/v1beta1 on :%d, scraping every %.0fs", args.secure_port,
             args.metric_resolution)
    scraper = Scraper(client, args.kubelet_insecure_tls, timeout=args.metric_resolution * 0.9)
    preferred = [t.strip() for t in args.kubelet_preferred_address_types.split(",")]
    nodes.synced.wait(30)
    while not stop.is_set():
        started = time.monotonic()
        targets = [t for n in nodes.snapshot()
                   if (t := kubelet_target(n, preferred, args.kubelet_use_node_status_port))]
        storage.store(scraper.scrape(targets))
        stop.wait(max(0.0, args.metric_resolution - (time.monotonic() - started)))
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
