"""Scraping every node's kubelet, as metrics-server's scraper: `GET /metrics/resource` at the
node's preferred address (`--kubelet-preferred-address-types`, InternalIP first) and its
kubelet port (`status.daemonEndpoints.kubeletEndpoint.Port` with
`--kubelet-use-node-status-port`, else 10250), with the pod's service-account token, the
kubelet's certificate checked against the cluster CA (unless `--kubelet-insecure-tls`).
A node that fails is logged and left out of that round, as upstream.
"""

from __future__ import annotations

import http.client
import logging
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nodelab.addons.incluster import InCluster
from nodelab.addons.metrics.decode import Batch, DecodeError, decode

log = logging.getLogger(__name__)
DEFAULT_PORT = 10250


@dataclass(frozen=True)
class KubeletTarget:
    node: str
    host: str
    port: int


def kubelet_target(node: dict[str, Any], preferred: Sequence[str], use_status_port: bool
                   ) -> KubeletTarget | None:
    """Where the node's kubelet is (None: no address of a preferred type)."""
    name = (node.get("metadata") or {}).get("name", "")
    status = node.get("status") or {}
    addresses = status.get("addresses") or []
    host = next((a.get("address") for kind in preferred for a in addresses
                 if a.get("type") == kind and a.get("address")), None)
    if host is None:
        return None
    port = DEFAULT_PORT
    if use_status_port:
        port = int(((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {})
                   .get("Port") or DEFAULT_PORT)
    return KubeletTarget(name, str(host), port)


class Scraper:
    def __init__(self, client: InCluster, insecure: bool, timeout: float) -> None:
        self.client = client
        self.insecure = insecure
        self.timeout = timeout

    def _context(self) -> ssl.SSLContext:
        if not self.insecure:
            return self.client.context()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context

    def scrape_node(self, target: KubeletTarget) -> Batch:
        connection = http.client.HTTPSConnection(target.host, target.port,
                                                 context=self._context(), timeout=self.timeout)
        try:
            started = time.time_ns()
            connection.request("GET", "/metrics/resource", headers={
                "Authorization": f"Bearer {self.client.token()}", "Accept": "text/plain"})
            answer = connection.getresponse()
            body = answer.read()
        finally:
            connection.close()
        if answer.status != 200:
            raise OSError(f"request failed, status: {answer.status} "
                          f"{body[:200].decode(errors='replace')!r}")
        return decode(body.decode(errors="replace"), started, target.node)

    def scrape(self, targets: Sequence[KubeletTarget]) -> Batch:
        """Every node at once (a thread each), merged; a failing node is logged, skipped."""
        results: dict[str, Batch] = {}

        def one(target: KubeletTarget) -> None:
            try:
                results[target.node] = self.scrape_node(target)
            except (OSError, ssl.SSLError, http.client.HTTPException, DecodeError) as exc:
                log.error("Failed to scrape node %s (%s:%d): %s", target.node, target.host,
                          target.port, exc)

        threads = [threading.Thread(target=one, args=(t,), daemon=True) for t in targets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.timeout + 1)
        merged = Batch()
        for batch in list(results.values()):
            merged.nodes.update(batch.nodes)
            merged.pods.update(batch.pods)
        return merged
