"""Step of `up`: wait until every node of the lab is Ready, saying what it waits for.

Progress lines name each node's Ready condition reason and message as they change (for
example `node1: NotReady (container runtime network not ready: ...)`), so a learner sees the
node come up. On timeout the error lists each node's conditions and where the logs are.
"""

from __future__ import annotations

import time
from typing import Any

from kubernetes import config

from nodelab.errors import NodelabError
from nodelab.kube.rest import Rest
from nodelab.lab.context import LabContext

READY_TIMEOUT = 120.0


def node_readiness(rest: Rest) -> dict[str, tuple[str, str]]:
    """Node name -> (Ready status, "reason: message")."""
    found = {}
    for node in rest.request("GET", "/api/v1/nodes").get("items") or []:
        ready: dict[str, Any] = next((c for c in (node.get("status") or {}).get("conditions") or []
                      if c.get("type") == "Ready"), {})
        found[node["metadata"]["name"]] = (
            str(ready.get("status") or "Unknown"),
            f"{ready.get('reason') or 'not reported'}: {ready.get('message') or ''}".strip(),
        )
    return found


class WaitNodesReady:
    name = "wait for nodes to be Ready"

    def __init__(self, timeout: float = READY_TIMEOUT) -> None:
        self.timeout = timeout

    def node_names(self, ctx: LabContext) -> list[str]:
        """The Node objects to wait for (a joined lab's have other names)."""
        return [node.name for node in ctx.topology.nodes]

    def execute(self, ctx: LabContext) -> None:
        kubeconfig = str(ctx.paths.kubeconfig)
        api = config.new_client_from_config(kubeconfig)  # type: ignore[no-untyped-call]
        rest = Rest(api)
        wanted = self.node_names(ctx)
        deadline = time.monotonic() + self.timeout
        said: dict[str, tuple[str, str]] = {}
        while True:
            try:
                states = node_readiness(rest)
            except Exception as exc:  # the API server may still be starting
                states = {}
                ctx.progress(f"waiting for the API server: {exc}")
            for name in wanted:
                state = states.get(name, ("Unknown", "not registered yet"))
                if said.get(name) != state:
                    label = "Ready" if state[0] == "True" else "NotReady"
                    ctx.progress(f"{name}: {label} ({state[1]})")
                    said[name] = state
            if all(states.get(n, ("",))[0] == "True" for n in wanted):
                return
            if time.monotonic() > deadline:
                details = "; ".join(f"{n}: {said.get(n)}" for n in wanted)
                raise NodelabError(
                    f"nodes not Ready after {self.timeout:.0f}s ({details}); see the daemon "
                    f"logs in {ctx.paths.logs} and `nodelab status --name {ctx.names.lab}`"
                )
            time.sleep(0.5)
