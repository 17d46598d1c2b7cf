"""Applying the pod network plan inside the node's namespace, whenever Nodes change."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from nodelab.host import netlink
from nodelab.kube.reflector import Reflector
from nodelab.kube.restclient import ApiAccess
from nodelab.kube.store import Store
from nodelab.podnet.converge import converge
from nodelab.podnet.masquerade import apply_masquerade
from nodelab.podnet.plan import (
    CLUSTER_POD_CIDR,
    FALLBACK_GRACE,
    PodRoute,
    conflist,
    fallback_conflist_cidr,
    pod_routes,
)
from nodelab.podnet.policies import PolicyEnforcer

log = logging.getLogger("nodelab.podnet")
CONFLIST_NAME = "10-nodelab.conflist"


def write_conflist(conf_dir: Path, document: dict[str, Any]) -> bool:
    """Write the conflist atomically; False when it is already exactly that."""
    conf_dir.mkdir(parents=True, exist_ok=True)
    target = conf_dir / CONFLIST_NAME
    text = json.dumps(document, indent=2) + "\n"
    if target.exists() and target.read_text() == text:
        return False
    tmp = target.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, target)
    return True


def current_pod_routes() -> dict[ipaddress.IPv4Network, ipaddress.IPv4Address]:
    """Routes in this namespace into the cluster pod range that go via a gateway (ours)."""
    found = {}
    with netlink.ipr() as sock:
        for route in sock.get_routes(family=2):
            dst, length = route.get("dst"), route.get("dst_len", 0)
            gateway = route.get("gateway")
            if not dst or not gateway:
                continue
            network = ipaddress.IPv4Network(f"{dst}/{length}", strict=False)
            if network.subnet_of(CLUSTER_POD_CIDR):
                found[network] = ipaddress.IPv4Address(gateway)
    return found


def connected_networks() -> list[ipaddress.IPv4Network]:
    """The IPv4 networks this namespace is directly attached to (loopback aside)."""
    networks = []
    with netlink.ipr() as sock:
        for message in sock.get_addr(family=2):
            address = message.get_attr("IFA_ADDRESS")
            if not address:
                continue
            network = ipaddress.IPv4Interface(f"{address}/{message['prefixlen']}").network
            if not network.is_loopback:
                networks.append(network)
    return networks


def apply_routes(wanted: list[PodRoute]) -> None:
    current = current_pod_routes()
    targets = {r.destination: r.via for r in wanted}
    for destination, via in targets.items():
        if current.get(destination) != via:
            log.info("route %s via %s", destination, via)
            netlink.ensure_route(destination, gateway=via)
    for destination in set(current) - set(targets):
        log.info("removing route %s (its node is gone)", destination)
        netlink.delete_route(destination)


class PodNetworkAgent:
    def __init__(self, api: ApiAccess, node_name: str, conf_dir: Path,
                 data_dir: Path, mtu: int = 1500, cni_version: str = "1.1.0",
                 fallback_pod_cidr: str | None = None) -> None:
        self.node_name = node_name
        self.fallback_pod_cidr = fallback_pod_cidr
        self._own_seen: float | None = None
        self.conf_dir = conf_dir
        self.data_dir = data_dir
        self.mtu = mtu
        self.cni_version = cni_version
        self._wake = threading.Event()
        self.store = Store(lambda _kind: self._wake.set())
        self.reflector = Reflector("nodes", api.lister("nodes"), self.store.handle)
        self._stop = threading.Event()
        self._masquerading: list[ipaddress.IPv4Network] | None = None
        self.policies = PolicyEnforcer(api, node_name)

    def masquerade(self, own_cidr: str | None) -> None:
        """Masquerade pod traffic that leaves the pod network (set up once per range set)."""
        networks = [CLUSTER_POD_CIDR]
        if own_cidr and not ipaddress.IPv4Network(own_cidr).subnet_of(CLUSTER_POD_CIDR):
            networks.append(ipaddress.IPv4Network(own_cidr))
        if networks != self._masquerading:
            apply_masquerade(networks)
            self._masquerading = networks
            log.info("masquerading pod traffic that leaves %s", ", ".join(map(str, networks)))

    def sync(self) -> None:
        nodes = self.store.list("nodes")
        own = next((n for n in nodes if n["metadata"]["name"] == self.node_name), None)
        if own is not None and self._own_seen is None:
            self._own_seen = time.monotonic()
            if self.fallback_pod_cidr:  # look again when the grace for node IPAM is over
                timer = threading.Timer(FALLBACK_GRACE + 0.5, self._wake.set)
                timer.daemon = True
                timer.start()
        waited = 0.0 if self._own_seen is None else time.monotonic() - self._own_seen
        cidr = fallback_conflist_cidr(own, self.fallback_pod_cidr, waited)
        if cidr and write_conflist(self.conf_dir, conflist(cidr, str(self.data_dir),
                                                           mtu=self.mtu,
                                                           cni_version=self.cni_version)):
            log.info("wrote %s for pod range %s", self.conf_dir / CONFLIST_NAME, cidr)
        self.masquerade(cidr)
        apply_routes(pod_routes(self.node_name, nodes, connected_networks()))

    def run(self) -> None:
        self.reflector.start()
        self.policies.start()
        converge(self._wake, self._stop, self.sync, log, "pod network")

    def stop(self) -> None:
        self._stop.set()
        self.reflector.stop()
        self.policies.stop()
        self._wake.set()
