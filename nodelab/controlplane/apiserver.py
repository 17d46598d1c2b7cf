"""Assembling the API server: PKI, store, REST registry, HTTPS transport, background loop.

`ApiServer(state_dir, host, port)` owns one running API server; `start()` returns once it
answers, `stop()` shuts it down and closes the store. The `controlplane` process
(`python -m nodelab.controlplane`) is this plus signal handling.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from nodelab.controlplane import bootstrap
from nodelab.controlplane.auth.identities import CONTROLLER_MANAGER, KUBELET_CLIENT
from nodelab.controlplane.auth.pki import PKI, ensure_pki
from nodelab.controlplane.auth.tokens import TokenIssuer
from nodelab.controlplane.http import streaming
from nodelab.controlplane.http.aggregation import ProxyClient
from nodelab.controlplane.http.dispatch import Api
from nodelab.controlplane.http.kubelet_connection import KubeletClient
from nodelab.controlplane.http.server import HttpsServer, read_admin_token
from nodelab.controlplane.registry.rest import Registry
from nodelab.controlplane.storage.store import HISTORY_LIMIT, Store

log = logging.getLogger("nodelab.controlplane")

DEFAULT_PORT = 6443
AVAILABILITY_PERIOD = 2.0  # seconds between APIService availability checks


class ApiServer:
    def __init__(self, state_dir: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 hosts: list[str] | None = None, history_limit: int = HISTORY_LIMIT,
                 kubelet_ca: Path | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.pki: PKI = ensure_pki(self.state_dir, [host, *(hosts or [])])
        self.store = Store(self.state_dir / "controlplane.db", history_limit)
        self.registry = Registry(self.store)
        self.issuer = TokenIssuer(self.pki.service_account_key)
        self.admin_token = read_admin_token(self.pki.directory)
        kubelet_client = self.pki.component_credentials(KUBELET_CLIENT)
        streaming.KUBELET_CLIENT = KubeletClient(kubelet_client.cert, kubelet_client.key,
                                                 kubelet_ca)
        self.advertise = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        self.api = Api(self.registry, self.issuer, f"{self.advertise}:{port}")
        self.api.admin_token = self.admin_token
        proxy = self.pki.front_proxy_client()
        self.api.aggregator.client = ProxyClient(proxy.cert, proxy.key)
        self.http = HttpsServer(host, port, self.pki, self.api, self.admin_token, self.issuer)
        self.port = self.http.port
        self.api.address = f"{self.advertise}:{self.port}"
        self.api.on_namespace_created = self._namespace_created
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._controllers: Any = None

    @property
    def url(self) -> str:
        return f"https://{self.advertise}:{self.port}"

    def _ca(self) -> str:
        return self.pki.ca_cert.read_text()

    def _reconcile(self) -> None:
        bootstrap.reconcile(self.registry, self.advertise, self.port, self._ca(),
                            self.pki.front_proxy_ca.read_text())

    def _namespace_created(self, name: str) -> None:
        bootstrap.populate_namespace(self.registry, name, self._ca())

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self._reconcile()
            except Exception:  # noqa: BLE001 - keep the loop alive, say why
                log.exception("control-plane reconcile loop failed; retrying")

    def _availability_loop(self) -> None:
        """kube-aggregator's AvailableConditionController (`http/availability.py`)."""
        while not self._stop.wait(AVAILABILITY_PERIOD):
            try:
                self.api.aggregator.check_all()
            except Exception:  # noqa: BLE001 - keep the loop alive, say why
                log.exception("APIService availability check failed; retrying")

    def start(self) -> None:
        self._reconcile()
        self.api.started.set()  # the post-start hooks /readyz lists are done
        self._threads.append(self.http.start())
        for name, target in (("reconcile", self._loop),
                             ("apiservice-availability", self._availability_loop)):
            loop = threading.Thread(target=target, name=name, daemon=True)
            loop.start()
            self._threads.append(loop)
        log.info("API server listening on %s (state in %s)", self.url, self.state_dir)

    def start_controllers(self) -> None:
        """Run the scheduler and controllers (`controllers/`) in this process, as clients of
        this server over loopback HTTPS with their own identity, as kube-controller-manager."""
        from nodelab.controlplane.auth.pki import write_kubeconfig
        from nodelab.controlplane.controllers.loop import ControllerLoop
        from nodelab.controlplane.controllers.setup import default_controllers
        from nodelab.kube.restclient import client_for

        creds = self.pki.component_credentials(CONTROLLER_MANAGER)
        kubeconfig = write_kubeconfig(self.state_dir / "controller-manager.kubeconfig",
                                      f"https://127.0.0.1:{self.port}"
                                      if self.host in ("0.0.0.0", "", "::") else self.url,
                                      self.pki.ca_cert, creds.cert, creds.key, creds.user)
        client = client_for(kubeconfig)
        from nodelab.controlplane.controllers.csrsigning import load_ca

        ca = load_ca(self.pki.ca_cert, self.pki.ca_key)
        self._controllers = ControllerLoop(client, default_controllers(signing_ca=ca)).start()
        log.info("scheduler and controllers started")

    def stop(self) -> None:
        if self._controllers is not None:
            self._controllers.stop()
        self._stop.set()
        self.http.shutdown()
        self.store.close()
