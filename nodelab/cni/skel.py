"""The plugin skeleton: the CNI calling convention, once, for every nodelab plugin.

A CNI plugin is an executable. The runtime sets `CNI_COMMAND`, `CNI_CONTAINERID`, `CNI_NETNS`,
`CNI_IFNAME`, `CNI_ARGS` (`K=V;K2=V2`) and `CNI_PATH`, writes the network configuration as JSON
on stdin, and reads a result (ADD) or nothing (DEL, CHECK, STATUS, GC) on stdout; a failure is
a JSON error on stdout and a non-zero exit. `serve` does all of that, like the Go `skel`
package the reference plugins use, and hands a plugin a `Request` it can trust:

- missing or malformed environment -> code 4 (ADD and CHECK need container id, netns and ifname;
  DEL may lack the netns, because the sandbox may already be gone; STATUS and GC need neither);
- stdin that is not a JSON object -> code 6; a config without name/cniVersion/type -> code 7;
- a cniVersion the plugin does not speak -> code 1;
- VERSION answers `{"cniVersion", "supportedVersions"}` without looking at the rest.

Plugins only raise `CNIError` (or another NodelabError, reported as code 999 with its message);
anything else is a bug, still reported as a JSON error (code 999), with its traceback on stderr.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from nodelab.cni import version
from nodelab.cni.errors import (
    DECODING_FAILURE,
    INCOMPATIBLE_VERSION,
    INTERNAL,
    INVALID_ENVIRONMENT,
    INVALID_NETWORK_CONFIG,
    CNIError,
)
from nodelab.cni.identifiers import (
    check_container_id,
    check_interface_name,
    check_network_name,
)
from nodelab.cni.result import Result
from nodelab.errors import NodelabError

COMMANDS = ("ADD", "DEL", "CHECK", "STATUS", "VERSION", "GC")


@dataclass(frozen=True)
class Request:
    """One plugin invocation: the verb, its environment and the decoded configuration."""

    command: str
    config: dict[str, Any]
    container_id: str = ""
    netns: str = ""
    ifname: str = ""
    args: dict[str, str] = field(default_factory=dict)
    path: tuple[str, ...] = ()
    stdin: bytes = b""

    @property
    def cni_version(self) -> str:
        return str(self.config.get("cniVersion", ""))

    @property
    def network_name(self) -> str:
        return str(self.config.get("name", ""))

    @property
    def prev_result(self) -> Result | None:
        raw = self.config.get("prevResult")
        return None if raw is None else Result.from_json(raw, source="prevResult")

    @property
    def runtime_config(self) -> dict[str, Any]:
        raw = self.config.get("runtimeConfig") or {}
        return raw if isinstance(raw, dict) else {}


@dataclass(frozen=True)
class Handlers:
    """What a plugin does per verb. ADD returns the result; the others return nothing."""

    add: Callable[[Request], Result]
    delete: Callable[[Request], None]
    check: Callable[[Request], None]
    status: Callable[[Request], None] = lambda request: None
    gc: Callable[[Request], None] = lambda request: None


_NEEDS = {
    "ADD": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"),
    "CHECK": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"),
    "DEL": ("CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"),
    "STATUS": ("CNI_PATH",),
    "GC": ("CNI_PATH",),
    "VERSION": (),
}


def parse_cni_args(text: str) -> dict[str, str]:
    """`"K8S_POD_NAME=web;IgnoreUnknown=1"` -> a dict; raise code 4 on a pair without `=`."""
    args: dict[str, str] = {}
    for pair in filter(None, text.split(";")):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CNIError(INVALID_ENVIRONMENT, f"invalid CNI_ARGS pair {pair!r}")
        args[key] = value
    return args


def decode_request(environ: Mapping[str, str], stdin: bytes) -> Request:
    """Build the Request from the environment and stdin, checking both as the spec says."""
    command = environ.get("CNI_COMMAND", "")
    if not command:
        raise CNIError(INVALID_ENVIRONMENT, "required env variables [CNI_COMMAND] missing")
    if command not in COMMANDS:
        raise CNIError(INVALID_ENVIRONMENT, f"unknown CNI_COMMAND {command!r}")
    missing = [name for name in _NEEDS[command] if not environ.get(name)]
    if missing:
        raise CNIError(INVALID_ENVIRONMENT, f"required env variables [{','.join(missing)}] missing")
    try:
        config = json.loads(stdin or b"{}")
    except ValueError as exc:
        raise CNIError(DECODING_FAILURE, "cannot decode network config", str(exc)) from exc
    if not isinstance(config, dict):
        raise CNIError(DECODING_FAILURE, "network config is not a JSON object")
    request = Request(
        command=command,
        config=config,
        container_id=environ.get("CNI_CONTAINERID", ""),
        netns=environ.get("CNI_NETNS", ""),
        ifname=environ.get("CNI_IFNAME", ""),
        args=parse_cni_args(environ.get("CNI_ARGS", "")),
        path=tuple(p for p in environ.get("CNI_PATH", "").split(os.pathsep) if p),
        stdin=stdin,
    )
    if command == "VERSION":
        return request
    if not request.cni_version:
        raise CNIError(INVALID_NETWORK_CONFIG, "network config has no cniVersion")
    version.require_supported(request.cni_version)
    if command in ("STATUS", "GC") and not version.at_least(request.cni_version, "1.1.0"):
        raise CNIError(
            INCOMPATIBLE_VERSION,
            f"{command} needs CNI version 1.1.0 or later",
            f"config is {request.cni_version!r}",
        )
    if not request.network_name:
        raise CNIError(INVALID_NETWORK_CONFIG, "network config has no name")
    check_network_name(request.network_name)  # upstream's skel: every name becomes a file name
    if request.command in ("ADD", "DEL", "CHECK"):
        check_container_id(request.container_id)
        check_interface_name(request.ifname)
    return request


def dispatch(handlers: Handlers, request: Request) -> dict[str, Any] | None:
    """Run the verb; return the JSON to print (or None for verbs that print nothing)."""
    if request.command == "VERSION":
        return {"cniVersion": version.CURRENT, "supportedVersions": list(version.SUPPORTED)}
    if request.command == "ADD":
        return handlers.add(request).to_json(request.cni_version)
    {"DEL": handlers.delete, "CHECK": handlers.check, "STATUS": handlers.status, "GC": handlers.gc}[
        request.command
    ](request)
    return None


def serve(
    handlers: Handlers,
    *,
    environ: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Run one plugin invocation end to end and return the process exit code."""
    environ = os.environ if environ is None else environ
    out = stdout or sys.stdout
    cni_version = version.CURRENT
    try:
        data = sys.stdin.buffer.read() if stdin is None else stdin
        request = decode_request(environ, data)
        cni_version = request.cni_version or cni_version
        body = dispatch(handlers, request)
    except CNIError as exc:
        json.dump(exc.to_json(cni_version), out)
        out.flush()
        return 1
    except NodelabError as exc:
        json.dump(CNIError(INTERNAL, str(exc)).to_json(cni_version), out)
        out.flush()
        return 1
    except Exception as exc:  # a bug, but the runtime must still get a JSON error
        error = CNIError(INTERNAL, f"internal error: {type(exc).__name__}: {exc}")
        json.dump(error.to_json(cni_version), out)
        out.flush()
        traceback.print_exc()
        return 1
    if body is not None:
        json.dump(body, out, indent=4)
        out.flush()
    return 0
