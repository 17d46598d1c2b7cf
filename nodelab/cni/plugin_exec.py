"""Finding a plugin on the plugin path and running it: the one place a plugin process starts.

Both the invoker (runtime -> plugin) and the bridge plugin (bridge -> its IPAM plugin) go through
here, so delegation follows the same rules as a runtime call: the first executable named `type`
on the path wins, the environment carries the CNI_* variables, the config goes on stdin, and a
non-zero exit becomes a CNIError rebuilt from the JSON error the plugin printed.

`netns` runs the plugin inside another network namespace (via `nsenter --net=`): the lab uses it
to run plugins in a node's namespace from outside, and the tests use it so that nothing a plugin
does (bridge, iptables rules, sysctls) touches the host's root namespace.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from nodelab.cni.errors import INTERNAL, PLUGIN_NOT_AVAILABLE, CNIError

TIMEOUT_SECONDS = 120.0


def find_plugin(plugin_type: str, plugin_path: Sequence[Path | str]) -> Path:
    """The first executable called `plugin_type` in `plugin_path`; CNIError if there is none."""
    if not plugin_type or "/" in plugin_type or plugin_type in (".", ".."):
        raise CNIError(PLUGIN_NOT_AVAILABLE, f"invalid plugin type {plugin_type!r}")
    for directory in plugin_path:
        candidate = Path(directory) / plugin_type
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    searched = ":".join(str(d) for d in plugin_path) or "(empty path)"
    raise CNIError(
        PLUGIN_NOT_AVAILABLE,
        f"failed to find plugin {plugin_type!r} in path {searched}",
        "install it there, or add its directory to the plugin path",
    )


def exec_plugin(
    executable: Path,
    env: Mapping[str, str],
    stdin: bytes,
    *,
    netns: Path | str | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> bytes:
    """Run a plugin; return its stdout, or raise the CNIError it reported."""
    argv = [str(executable)]
    if netns is not None:
        argv = ["nsenter", f"--net={netns}", "--", *argv]
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CNI_")}
    full_env = {**inherited, **env}
    try:
        proc = subprocess.run(
            argv, input=stdin, capture_output=True, env=full_env, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise CNIError(INTERNAL, f"timed out after {timeout:.0f}s", plugin=executable.name) from exc
    except OSError as exc:
        raise CNIError(
            PLUGIN_NOT_AVAILABLE, f"cannot run {executable}: {exc}", plugin=executable.name
        ) from exc
    if proc.returncode == 0:
        return proc.stdout
    try:
        body: object = json.loads(proc.stdout)
    except ValueError:
        stderr = proc.stderr.decode(errors="replace").strip()[-1000:]
        raise CNIError(
            INTERNAL,
            f"exited with {proc.returncode} without a JSON error",
            stderr or proc.stdout.decode(errors="replace")[-1000:],
            plugin=executable.name,
        ) from None
    raise CNIError.from_json(body, plugin=executable.name)


def cni_env(
    command: str,
    *,
    container_id: str = "",
    netns: str = "",
    ifname: str = "",
    args: Mapping[str, str] | None = None,
    plugin_path: Sequence[Path | str] = (),
) -> dict[str, str]:
    """The CNI_* environment for one call (empty values are left out, as libcni does)."""
    env = {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_NETNS": netns,
        "CNI_IFNAME": ifname,
        "CNI_ARGS": ";".join(f"{k}={v}" for k, v in (args or {}).items()),
        "CNI_PATH": os.pathsep.join(str(p) for p in plugin_path),
    }
    return {k: v for k, v in env.items() if v}
