"""The names a CNI call carries, checked as upstream's `pkg/utils` checks them.

The container ID (`CNI_CONTAINERID`), the network name (the config's `name`) and the interface
name (`CNI_IFNAME`) end up in file names: the result cache's
`<cacheDir>/results/<network>-<containerID>-<ifname>`, host-local's `<dataDir>/<network>/` and
the reservation files it writes. So before anything is done with them they must be what the
specification says (libcni and the plugins' skel refuse the same):

- container ID and network name: `^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$` (no `/`, no `..` prefix);
- interface name: 1 to 15 bytes (IFNAMSIZ - 1), not `.` or `..`, no `/`, `:` or whitespace.

Errors carry upstream's codes and texts: a missing container ID is 3, a bad one 4 ("invalid
characters in containerID"); a bad network name 7; a bad interface name 4. The stores then
still open every such name as one path component beneath their directory without following
links (`nodelab/host/beneath.py`), so a name that slipped past this check could not leave it.
"""

from __future__ import annotations

import re

from nodelab.cni.errors import (
    INVALID_ENVIRONMENT,
    INVALID_NETWORK_CONFIG,
    UNKNOWN_CONTAINER,
    CNIError,
)

_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.\-]*")
MAX_INTERFACE_NAME = 15  # IFNAMSIZ - 1


def check_container_id(container_id: str) -> None:
    if not container_id:
        raise CNIError(UNKNOWN_CONTAINER, "missing containerID")
    if not _NAME.fullmatch(container_id):
        raise CNIError(INVALID_ENVIRONMENT, "invalid characters in containerID", container_id)


def check_network_name(name: str) -> None:
    if not name:
        raise CNIError(INVALID_NETWORK_CONFIG, "missing network name:")
    if not _NAME.fullmatch(name):
        raise CNIError(INVALID_NETWORK_CONFIG, "invalid characters found in network name", name)


def check_interface_name(ifname: str) -> None:
    if not ifname:
        raise CNIError(INVALID_ENVIRONMENT, "interface name is empty")
    if len(ifname.encode()) > MAX_INTERFACE_NAME:
        raise CNIError(INVALID_ENVIRONMENT, "interface name is too long",
                       f"interface name should be less than {MAX_INTERFACE_NAME + 1} characters")
    if ifname in (".", ".."):
        raise CNIError(INVALID_ENVIRONMENT, "interface name is . or ..")
    if any(c in "/:" or c.isspace() for c in ifname):
        raise CNIError(INVALID_ENVIRONMENT,
                       "interface name contains / or : or whitespace characters")
