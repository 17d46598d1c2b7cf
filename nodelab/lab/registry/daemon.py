"""The lab registry: Debian's `docker-registry` (the CNCF distribution registry) on the gateway.

nodelab writes its own config: no auth, `http.addr` on the lab gateway only, storage under the
lab's state dir, deletes disabled (a DELETE of a manifest or blob is 405 UNSUPPORTED: nobody who
can reach the lab network can remove the images its pods run from). (The Debian default config
wants htpasswd auth and listens on every interface: it is never used.)
"""

from __future__ import annotations

from pathlib import Path

import yaml

from nodelab.errors import NodelabError
from nodelab.host.binaries import which
from nodelab.lab.context import LabContext
from nodelab.lab.daemons import DaemonSpec, http_ready


def render_registry_config(address: str, storage: Path) -> str:
    config = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            "delete": {"enabled": False},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": address},
    }
    return yaml.safe_dump(config, sort_keys=True)


def registry_daemon(address: str, directory: Path) -> DaemonSpec:
    binary = which("docker-registry")
    if binary is None:
        raise NodelabError(
            "docker-registry is not installed: `apt-get install docker-registry` "
            "(the lab registry serves the demo images)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "config.yml"
    config.write_text(render_registry_config(address, directory / "data"))
    return DaemonSpec(
        name="registry",
        argv=(str(binary), "serve", str(config)),
        ready=http_ready(f"http://{address}/v2/"),
        ready_timeout=30.0,
    )


class StartRegistry:
    """Step of `up`: the registry daemon, ready when `GET /v2/` answers."""

    name = "registry"

    def execute(self, ctx: LabContext) -> None:
        spec = registry_daemon(ctx.topology.registry, ctx.paths.registry)
        ctx.supervisor.start(spec, ctx.progress)
