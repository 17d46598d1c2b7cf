"""The plugin calls a CNI verb would make, as data: what a notebook shows before (or instead of)
running them.

`plan_calls("ADD", conflist, ...)` lists, in order, each plugin's executable (or None if it is
not on the path), the `CNI_*` environment and the JSON it would read on stdin, exactly as
`CNIInvoker` builds them. On a host where nothing can be applied (no root, no netns: Binder),
this is still the whole story of "how the runtime asks CNI for a pod network", clearly a plan.

For ADD, each plugin after the first gets the previous plugin's result as `prevResult`, which is
only known once it ran: the plan marks it with `prev_result_from` instead of inventing one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodelab.cni.config import NetworkConfigList
from nodelab.cni.errors import CNIError
from nodelab.cni.invoker import plugin_stdin
from nodelab.cni.plugin_exec import cni_env, find_plugin


@dataclass(frozen=True)
class PluginCall:
    plugin: str
    executable: Path | None
    env: dict[str, str]
    stdin: dict[str, Any]
    prev_result_from: str | None = None


def plan_calls(
    command: str,
    conflist: NetworkConfigList,
    plugin_path: Sequence[Path],
    container_id: str = "",
    netns: str = "",
    ifname: str = "eth0",
    args: Mapping[str, str] | None = None,
    capability_args: Mapping[str, Any] | None = None,
    cached_result: Mapping[str, Any] | None = None,
) -> list[PluginCall]:
    """The calls of ADD, DEL, CHECK, STATUS or GC for one attachment, in execution order."""
    plugins = list(reversed(conflist.plugins)) if command == "DEL" else list(conflist.plugins)
    calls = []
    for index, plugin in enumerate(plugins):
        try:
            executable: Path | None = find_plugin(plugin.type, plugin_path)
        except CNIError:
            executable = None
        chained = command == "ADD" and index > 0
        prev = None if command in ("ADD", "STATUS", "GC") else cached_result
        env = cni_env(
            command,
            container_id=container_id,
            netns=netns,
            ifname=ifname,
            args=args,
            plugin_path=plugin_path,
        )
        calls.append(
            PluginCall(
                plugin=plugin.type,
                executable=executable,
                env=env,
                stdin=plugin_stdin(conflist, plugin, capability_args or {}, prev),
                prev_result_from=plugins[index - 1].type if chained else None,
            )
        )
    return calls
