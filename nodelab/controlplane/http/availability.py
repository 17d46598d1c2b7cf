"""The APIServices' `Available` condition, as kube-aggregator's AvailableConditionController.

For each APIService, every couple of seconds:

- no `spec.service` (served here): True, `Local`, "Local APIServices are always available";
- the Service is missing: False, `ServiceNotFound`, `service/N in "NS" is not present`;
- it has no port `spec.service.port`: False, `ServicePortError`;
- no ready endpoint with that port's name: False, `MissingEndpoints`;
- `GET /apis/<group>/<version>` fails: False, `FailedDiscoveryCheck`,
  `failing or missing response from <url>: ...`;
- it answers 2xx (or 403): True, `Passed`, "all checks passed".

The discovery GET goes through the same front-proxy client as proxied requests, as the user
`system:kube-aggregator` in `system:masters` (upstream's check identity). Its answer (the
group/version's APIResourceList) is kept for aggregated discovery (`/apis` with
`as=APIGroupDiscoveryList`), which upstream's discovery manager also fetches from the backend.
`condition` is pure; `AvailabilityChecker.check_all` does the checks and writes the status
only when the condition changed (its `lastTransitionTime` moves only when the status does).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from nodelab.controlplane import errors
from nodelab.controlplane.auth.access import Identity
from nodelab.controlplane.http import aggregation
from nodelab.controlplane.registry.rest import Registry
from nodelab.controlplane.resources import lookup
from nodelab.kube.objects import Object
from nodelab.kubewire.times import now

log = logging.getLogger("nodelab.controlplane")
CHECK_IDENTITY = Identity("system:kube-aggregator", ("system:masters",))


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str
    message: str


def condition(previous: Object | None, verdict: Verdict, at: str) -> Object:
    """The Available condition for `verdict`; the transition time kept if the status is."""
    moved = previous is None or previous.get("status") != verdict.status
    return {"type": "Available", "status": verdict.status,
            "lastTransitionTime": at if moved or previous is None
            else previous.get("lastTransitionTime", at),
            "reason": verdict.reason, "message": verdict.message}


def with_condition(apiservice: Object, wanted: Object) -> Object | None:
    """The APIService with `wanted` as its Available condition; None if nothing changes."""
    status = dict(apiservice.get("status") or {})
    others = [c for c in status.get("conditions") or [] if c.get("type") != "Available"]
    current = next((c for c in status.get("conditions") or [] if c.get("type") == "Available"),
                   None)
    if current is not None and all(current.get(k) == wanted[k]
                                   for k in ("status", "reason", "message")):
        return None
    status["conditions"] = [*others, wanted]
    return {**apiservice, "status": status}


@dataclass
class AvailabilityChecker:
    registry: Registry
    client: aggregation.ProxyClient = field(default_factory=aggregation.ProxyClient)
    discovery: dict[tuple[str, str], list[Object]] = field(default_factory=dict)

    def verdict(self, apiservice: Object) -> Verdict:
        spec = apiservice.get("spec") or {}
        if not spec.get("service"):
            return Verdict("True", "Local", "Local APIServices are always available")
        group, version = str(spec.get("group", "")), str(spec.get("version", ""))
        try:
            target = aggregation.backend(self.registry.store, apiservice)
        except errors.ApiError as exc:
            reason = ("ServiceNotFound" if "is not present" in exc.message else
                      "ServicePortError" if "not listening on port" in exc.message else
                      "MissingEndpoints")
            self.discovery.pop((group, version), None)
            return Verdict("False", reason, exc.message)
        path = f"/apis/{group}/{version}"
        url = f"https://{target.host}:{target.port}{path}"
        try:
            connection = aggregation.connect(target, self.client, timeout=5)
            try:
                connection.putrequest("GET", path, skip_accept_encoding=True)
                for key, value in aggregation.proxy_headers(CHECK_IDENTITY, {
                        "accept": "application/json"}):
                    connection.putheader(key, value)
                connection.endheaders()
                answer = connection.getresponse()
                body = answer.read()
            finally:
                connection.close()
        except OSError as exc:
            self.discovery.pop((group, version), None)
            return Verdict("False", "FailedDiscoveryCheck",
                           f'failing or missing response from {url}: Get "{url}": {exc}')
        if not (200 <= answer.status < 300 or answer.status == 403):
            self.discovery.pop((group, version), None)
            return Verdict("False", "FailedDiscoveryCheck",
                           f"failing or missing response from {url}: bad status from {url}: "
                           f"{answer.status}")
        self._remember(group, version, body)
        return Verdict("True", "Passed", "all checks passed")

    def _remember(self, group: str, version: str, body: bytes) -> None:
        try:
            document: Any = json.loads(body)
            resources = document.get("resources") if isinstance(document, dict) else None
        except ValueError:
            resources = None
        if isinstance(resources, list):
            self.discovery[(group, version)] = [r for r in resources if isinstance(r, dict)]

    def check_all(self) -> None:
        rt = lookup("apiregistration.k8s.io", "v1", "apiservices")
        assert rt is not None
        for apiservice in self.registry.store.select(aggregation.APISERVICES)[0]:
            previous = next((c for c in (apiservice.get("status") or {}).get("conditions")
                             or [] if c.get("type") == "Available"), None)
            wanted = condition(previous, self.verdict(apiservice), now())
            changed = with_condition(apiservice, wanted)
            if changed is None:
                continue
            name = apiservice["metadata"]["name"]
            try:
                self.registry.update(rt, "", name, changed, {}, "status")
            except errors.ApiError as exc:  # changed meanwhile: the next round sees it
                log.debug("APIService %s status not written: %s", name, exc.message)
