"""Load that runs while faults are injected: pods created and deleted at a bounded, steady
rate, and a Service under traffic from inside the node's namespace (nowhere else)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kubernetes.client.exceptions import ApiException

from nodelab.lab.lab import Lab
from tests.faults.invariants import core_api


@dataclass
class PodChurn:
    """Create pod `churn-<i>` every `period` seconds and delete `churn-<i - keep>`; an API
    call that fails (the API server is down) is retried until it is acknowledged."""

    lab: Lab
    image: str
    period: float = 1.0
    keep: int = 3
    created: list[str] = field(default_factory=list)  # acknowledged by the API
    deleted: list[str] = field(default_factory=list)
    retries: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> PodChurn:
        self._thread = threading.Thread(target=self._run, name="pod-churn", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    @property
    def alive(self) -> set[str]:
        return set(self.created) - set(self.deleted)

    def _run(self) -> None:
        index = 0
        while not self._stop.is_set():
            name = f"churn-{index}"
            self._acknowledged(self._create, name)
            self.created.append(name)
            if index >= self.keep:
                old = f"churn-{index - self.keep}"
                self._acknowledged(self._delete, old)
                self.deleted.append(old)
            index += 1
            self._stop.wait(self.period)

    def _acknowledged(self, call: Callable[[str], None], name: str) -> None:
        while True:  # until acknowledged, however long the API server is away
            try:
                call(name)
                return
            except Exception:  # the API server is restarting: the call is retried
                self.retries += 1
                time.sleep(0.3)

    def _create(self, name: str) -> None:
        body = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "labels": {"role": "churn"}},
                "spec": {"terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "sleep", "image": self.image,
                                         "command": ["sleep", "3600"]}]}}
        try:
            core_api(self.lab).create_namespaced_pod("default", body, _request_timeout=10)
        except ApiException as exc:
            if exc.status != 409:  # 409: an earlier attempt was acknowledged after all
                raise

    def _delete(self, name: str) -> None:
        try:
            core_api(self.lab).delete_namespaced_pod(name, "default", _request_timeout=10)
        except ApiException as exc:
            if exc.status != 404:
                raise


class Traffic:
    """One shell loop in the node's namespace: `curl` the Service every 0.2 s, one line
    per request (`ok <pod>` or `fail`)."""

    def __init__(self, lab: Lab, url: str) -> None:
        netns = lab.topology.nodes[0].netns
        loop = (f"while :; do r=$(curl -s -m 2 {url}) && echo \"ok $r\" || echo fail; "
                "sleep 0.2; done")
        self.process = subprocess.Popen(["ip", "netns", "exec", netns, "sh", "-c", loop],
                                        stdout=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        self._reader.join(timeout=5)

    @property
    def ok(self) -> int:
        return sum(1 for line in self.lines if line.startswith("ok"))

    @property
    def failed(self) -> int:
        return sum(1 for line in self.lines if line == "fail")
