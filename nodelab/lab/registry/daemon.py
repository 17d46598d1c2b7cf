"""The lab registry: Debian's `docker-registry` (the CNCF distribution registry) on the gateway,
as two processes over one storage directory.

- `registry` on `<gateway>:5000`: what pods, runtimes and the learner pull from, anonymously.
  It is read-only (`storage.maintenance.readonly`): a push or a delete is refused (405
  UNSUPPORTED) and changes nothing.
- `registry-push` on `<gateway>:5001`: the only way in, with htpasswd auth (401 without the
  lab's credentials, `credentials.py`, which only root can read); nodelab's own pushes use it.
  Deletes are disabled here too (405 UNSUPPORTED): nobody can remove the images pods run from.

`docker-registry`'s htpasswd guards every request, pulls included, which is why one process
cannot serve both. Neither keeps a cache of the storage (no `storage.cache`), so an image
pushed to one is there at once for the other. nodelab writes both configs: `http.addr` on the
lab gateway only, storage under the lab's state dir, no upload purging. (The Debian default
config listens on every interface: it is never used.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from nodelab.errors import NodelabError
from nodelab.host.binaries import which
from nodelab.host.private_files import private_dir
from nodelab.lab.context import LabContext
from nodelab.lab.daemons import DaemonSpec, http_ready, tcp_ready
from nodelab.lab.registry.credentials import HTPASSWD, ensure_push_credentials


def render_registry_config(address: str, storage: Path, *, read_only: bool = False,
                           htpasswd: Path | None = None) -> str:
    maintenance: dict[str, Any] = {"uploadpurging": {"enabled": False}}
    if read_only:
        maintenance["readonly"] = {"enabled": True}
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            "delete": {"enabled": False},
            "maintenance": maintenance,
        },
        "http": {"addr": address},
    }
    if htpasswd is not None:
        config["auth"] = {"htpasswd": {"realm": "nodelab lab registry", "path": str(htpasswd)}}
    return yaml.safe_dump(config, sort_keys=True)


def _binary() -> str:
    binary = which("docker-registry")
    if binary is None:
        raise NodelabError(
            "docker-registry is not installed: `apt-get install docker-registry` "
            "(the lab registry serves the demo images)"
        )
    return str(binary)


def registry_daemon(address: str, directory: Path) -> DaemonSpec:
    """The anonymous, read-only registry pods pull from."""
    binary = _binary()
    private_dir(directory)
    config = directory / "config.yml"
    config.write_text(render_registry_config(address, directory / "data", read_only=True))
    return DaemonSpec(
        name="registry",
        argv=(binary, "serve", str(config)),
        ready=http_ready(f"http://{address}/v2/"),
        ready_timeout=30.0,
    )


def push_registry_daemon(address: str, directory: Path) -> DaemonSpec:
    """The registry nodelab pushes to, with the lab's credentials."""
    binary = _binary()
    private_dir(directory)
    ensure_push_credentials(directory)
    config = directory / "push-config.yml"
    config.write_text(render_registry_config(address, directory / "data",
                                             htpasswd=directory / HTPASSWD))
    host, _, port = address.rpartition(":")
    return DaemonSpec(
        name="registry-push",
        argv=(binary, "serve", str(config)),
        ready=tcp_ready(host, int(port)),  # GET /v2/ answers 401 to anyone without credentials
        ready_timeout=30.0,
    )


class StartRegistry:
    """Step of `up`: both registry daemons, ready when they answer."""

    name = "registry"

    def execute(self, ctx: LabContext) -> None:
        ctx.supervisor.start(registry_daemon(ctx.topology.registry, ctx.paths.registry),
                             ctx.progress)
        ctx.supervisor.start(push_registry_daemon(ctx.topology.registry_push,
                                                  ctx.paths.registry), ctx.progress)
