"""CNI errors as the spec defines them, and as nodelab raises them.

A CNI plugin reports failure by printing `{"cniVersion", "code", "msg", "details"}` on stdout and
exiting non-zero. The same triple travels both ways here: a nodelab plugin raises `CNIError` and
the plugin skeleton prints it; the invoker reads such a JSON error from any plugin (nodelab's or
the reference ones) and raises it again as `CNIError`, so the runtime sees one exception type
that carries the spec code a caller can act on (11 "try again later", 3 "unknown container"...).

Codes 1-99 are reserved by the spec; 100+ belong to plugins. The invoker uses 999 (as libcni
does) when a plugin failed without printing a well-formed error.
"""

from __future__ import annotations

from typing import Any

from nodelab.errors import NodelabError

INCOMPATIBLE_VERSION = 1
UNSUPPORTED_FIELD = 2
UNKNOWN_CONTAINER = 3
INVALID_ENVIRONMENT = 4
IO_FAILURE = 5
DECODING_FAILURE = 6
INVALID_NETWORK_CONFIG = 7
TRY_AGAIN_LATER = 11
PLUGIN_NOT_AVAILABLE = 50
LIMITED_CONNECTIVITY = 51
INTERNAL = 999

CODE_NAMES = {
    INCOMPATIBLE_VERSION: "incompatible CNI version",
    UNSUPPORTED_FIELD: "unsupported field in network configuration",
    UNKNOWN_CONTAINER: "container unknown or does not exist",
    INVALID_ENVIRONMENT: "invalid necessary environment variables",
    IO_FAILURE: "I/O failure",
    DECODING_FAILURE: "failed to decode content",
    INVALID_NETWORK_CONFIG: "invalid network config",
    TRY_AGAIN_LATER: "try again later",
    PLUGIN_NOT_AVAILABLE: "plugin is not available",
    LIMITED_CONNECTIVITY: "plugin is not available, existing containers limited",
}


class CNIError(NodelabError):
    """A CNI failure with its spec code, message and details (plus who reported it)."""

    def __init__(self, code: int, msg: str, details: str = "", *, plugin: str = "") -> None:
        self.code = code
        self.msg = msg
        self.details = details
        self.plugin = plugin
        super().__init__(str(self))

    def __str__(self) -> str:
        who = f"CNI plugin {self.plugin}" if self.plugin else "CNI"
        text = f"{who} failed with code {self.code} ({CODE_NAMES.get(self.code, 'plugin error')})"
        text += f": {self.msg}"
        if self.details:
            text += f" ({self.details})"
        return text

    def to_json(self, cni_version: str) -> dict[str, Any]:
        """The error object a plugin prints on stdout."""
        body: dict[str, Any] = {"cniVersion": cni_version, "code": self.code, "msg": self.msg}
        if self.details:
            body["details"] = self.details
        return body

    @classmethod
    def from_json(cls, body: object, *, plugin: str = "") -> CNIError:
        """Rebuild an error printed by a plugin; anything malformed becomes code 999."""
        if isinstance(body, dict) and isinstance(body.get("code"), int):
            return cls(
                body["code"], str(body.get("msg", "")), str(body.get("details", "")), plugin=plugin
            )
        return cls(INTERNAL, "plugin printed a malformed error", repr(body)[:500], plugin=plugin)
