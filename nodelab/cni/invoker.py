"""The libcni-style invoker: how the runtime (and `nodelab cni`) calls CNI plugins.

The runtime never configures pod networking itself. It holds a conflist and calls
`CNIInvoker.add/delete/check/status/gc`, which follow libcni's rules:

- plugins are found by `type` on the plugin path (nodelab's own `plugin_dir()` first, then
  /usr/lib/cni and /opt/cni/bin: see `default_plugin_path`), so nodelab's plugins and the
  reference plugins are interchangeable;
- each plugin gets its own config plus what the runtime injects: `name` and `cniVersion` of the
  list, `runtimeConfig` holding only the capability arguments the plugin declared (e.g.
  `portMappings`), and `prevResult`;
- ADD runs the plugins in order, each one's result becoming the next one's `prevResult`; the
  final result is validated and cached (see `cache.py`);
- DEL runs them in reverse with the cached result as `prevResult`, then drops the cache entry;
  it is idempotent because every plugin's DEL is;
- CHECK (0.4.0+, unless `disableCheck`) runs them in order with the cached result;
- STATUS and GC (1.1.0+) ask every plugin; GC first DELs cached attachments that are no longer
  valid, then sends `cni.dev/valid-attachments` so IPAM can drop stale reservations;
- a failing plugin raises `CNIError` carrying the spec code and message it printed.

If ADD fails part way, like libcni the invoker does not undo the plugins that succeeded: the
caller (the runtime) calls DEL, which every plugin must tolerate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodelab.cni import version
from nodelab.cni.cache import ResultCache
from nodelab.cni.config import NetworkConfigList, PluginConfig
from nodelab.cni.errors import (
    INCOMPATIBLE_VERSION,
    INVALID_NETWORK_CONFIG,
    CNIError,
)
from nodelab.cni.identifiers import check_container_id, check_interface_name
from nodelab.cni.plugin_exec import cni_env, exec_plugin, find_plugin
from nodelab.cni.result import Result

UPSTREAM_PLUGIN_DIRS = (Path("/usr/lib/cni"), Path("/opt/cni/bin"))


def default_plugin_path() -> list[Path]:
    """nodelab's own plugins first, then the usual places for the reference plugins."""
    from nodelab.cni.plugins import plugin_dir

    return [plugin_dir(), *UPSTREAM_PLUGIN_DIRS]


def plugin_stdin(
    conflist: NetworkConfigList,
    plugin: PluginConfig,
    capability_args: Mapping[str, Any],
    prev_result: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The config one plugin reads on stdin (pure: what libcni's buildOneConfig computes)."""
    config = dict(plugin.raw)
    config["name"] = conflist.name
    config["cniVersion"] = conflist.cni_version
    runtime_config = {
        cap: capability_args[cap]
        for cap, enabled in plugin.capabilities.items()
        if enabled and cap in capability_args
    }
    if runtime_config:
        config["runtimeConfig"] = runtime_config
    else:
        config.pop("runtimeConfig", None)
    if prev_result is not None:
        config["prevResult"] = {**prev_result, "cniVersion": conflist.cni_version}
    return config


@dataclass(frozen=True)
class Attachment:
    """Who a call is for: the container, its netns path and interface, and CNI_ARGS."""

    container_id: str = ""
    netns: str = ""
    ifname: str = ""
    args: Mapping[str, str] | None = None


class CNIInvoker:
    """Runs a conflist's plugins for one attachment (container id + ifname) at a time."""

    def __init__(
        self,
        plugin_path: Sequence[Path] | None = None,
        cache_dir: Path | None = None,
        *,
        exec_netns: Path | None = None,
    ) -> None:
        from nodelab.cni.cache import DEFAULT_CACHE_DIR

        self.plugin_path = list(plugin_path) if plugin_path is not None else default_plugin_path()
        self.cache = ResultCache(cache_dir or DEFAULT_CACHE_DIR)
        self.exec_netns = exec_netns

    def _run(
        self,
        command: str,
        conflist: NetworkConfigList,
        plugin: PluginConfig,
        config: dict[str, Any],
        attachment: Attachment | None = None,
    ) -> bytes:
        at = attachment or Attachment()
        if at.container_id:  # as libcni: before any plugin runs or any cache file is named
            check_container_id(at.container_id)
        if at.ifname:
            check_interface_name(at.ifname)
        executable = find_plugin(plugin.type, self.plugin_path)
        env = cni_env(
            command,
            container_id=at.container_id,
            netns=at.netns,
            ifname=at.ifname,
            args=at.args,
            plugin_path=self.plugin_path,
        )
        try:
            return exec_plugin(executable, env, json.dumps(config).encode(), netns=self.exec_netns)
        except CNIError as exc:
            where = f"network {conflist.name}"
            if at.container_id:
                where += f", container {at.container_id[:12]}/{at.ifname}"
            exc.plugin = f"{plugin.type} ({command} on {where})"
            exc.args = (str(exc),)
            raise

    def _run_each(
        self,
        command: str,
        conflist: NetworkConfigList,
        plugins: Iterable[PluginConfig],
        caps: Mapping[str, Any],
        prev: Mapping[str, Any] | None,
        attachment: Attachment | None = None,
    ) -> None:
        """`command` on each plugin in turn, all given the same prevResult (DEL, CHECK, STATUS;
        ADD chains each plugin's result into the next one's prevResult instead)."""
        for plugin in plugins:
            config = plugin_stdin(conflist, plugin, caps, prev)
            self._run(command, conflist, plugin, config, attachment)

    def add(
        self,
        conflist: NetworkConfigList,
        container_id: str,
        netns_path: str | Path,
        ifname: str = "eth0",
        args: Mapping[str, str] | None = None,
        capability_args: Mapping[str, Any] | None = None,
    ) -> Result:
        """Attach the container's netns to the network; return (and cache) the final result."""
        caps = dict(capability_args or {})
        attachment = Attachment(container_id, str(netns_path), ifname, args)
        prev: dict[str, Any] | None = None
        for plugin in conflist.plugins:
            config = plugin_stdin(conflist, plugin, caps, prev)
            out = self._run("ADD", conflist, plugin, config, attachment)
            try:
                body = json.loads(out)
            except ValueError as exc:
                raise CNIError(
                    6,
                    "plugin printed a result that is not JSON",
                    str(exc)[:200],
                    plugin=plugin.type,
                ) from exc
            Result.from_json(body, source=f"result of plugin {plugin.type}")
            prev = body
        if prev is None:
            raise CNIError(INVALID_NETWORK_CONFIG, f"network {conflist.name} has no plugins")
        self.cache.save(
            conflist, container_id, ifname, str(netns_path), prev, dict(args or {}), caps
        )
        return Result.from_json(prev)

    def delete(
        self,
        conflist: NetworkConfigList,
        container_id: str,
        netns_path: str | Path | None = None,
        ifname: str = "eth0",
        args: Mapping[str, str] | None = None,
        capability_args: Mapping[str, Any] | None = None,
    ) -> None:
        """Detach; safe to call again, or after a failed ADD, or when the netns is gone."""
        cached = self.cache.load(conflist.name, container_id, ifname)
        caps = dict(
            capability_args
            if capability_args is not None
            else (cached.capability_args if cached else {})
        )
        prev = cached.result if cached and version.at_least(conflist.cni_version, "0.4.0") else None
        attachment = Attachment(container_id, str(netns_path or ""), ifname, args)
        self._run_each("DEL", conflist, reversed(conflist.plugins), caps, prev, attachment)
        self.cache.remove(conflist.name, container_id, ifname)

    def check(
        self,
        conflist: NetworkConfigList,
        container_id: str,
        netns_path: str | Path,
        ifname: str = "eth0",
        args: Mapping[str, str] | None = None,
        capability_args: Mapping[str, Any] | None = None,
    ) -> None:
        """Ask every plugin whether the attachment is still as ADD left it."""
        if not version.at_least(conflist.cni_version, "0.4.0"):
            raise CNIError(
                INCOMPATIBLE_VERSION,
                f"CHECK needs CNI 0.4.0 or later, {conflist.name} is {conflist.cni_version}",
            )
        if conflist.disable_check:
            return
        cached = self.cache.load(conflist.name, container_id, ifname)
        if cached is None or cached.result is None:
            raise CNIError(
                3,
                f"no cached result for {conflist.name}/{container_id}/{ifname}",
                "CHECK needs an earlier ADD through this invoker and cache dir",
            )
        caps = dict(capability_args if capability_args is not None else cached.capability_args)
        attachment = Attachment(container_id, str(netns_path), ifname, args)
        self._run_each("CHECK", conflist, conflist.plugins, caps, cached.result, attachment)

    def status(self, conflist: NetworkConfigList) -> None:
        """Raise the first plugin's CNIError if the network cannot take new ADDs (1.1.0+)."""
        if not version.at_least(conflist.cni_version, "1.1.0"):
            return
        self._run_each("STATUS", conflist, conflist.plugins, {}, None)

    def gc(self, conflist: NetworkConfigList, valid_attachments: Iterable[tuple[str, str]]) -> None:
        """Remove every attachment of this network not in `valid_attachments` (id, ifname)."""
        if not version.at_least(conflist.cni_version, "1.1.0") or conflist.disable_gc:
            return
        valid = {(cid, ifname) for cid, ifname in valid_attachments}
        errors: list[CNIError] = []
        for cached in self.cache.attachments(conflist.name):
            if (cached.container_id, cached.ifname) in valid:
                continue
            try:
                self.delete(
                    conflist,
                    cached.container_id,
                    cached.netns if cached.netns and Path(cached.netns).exists() else None,
                    cached.ifname,
                    cached.cni_args,
                    cached.capability_args,
                )
            except CNIError as exc:
                errors.append(exc)
        listed = [{"containerID": cid, "ifname": ifname} for cid, ifname in sorted(valid)]
        for plugin in conflist.plugins:
            config = plugin_stdin(conflist, plugin, {}, None)
            config["cni.dev/valid-attachments"] = listed
            try:
                self._run("GC", conflist, plugin, config)
            except CNIError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
