"""Choosing one image manifest from a multi-platform index, as containerd's platform matcher does.

An index (OCI image index or Docker manifest list) lists one manifest per platform
(`os`/`architecture`/`variant`). The runtime wants the one matching the node: same OS, same
architecture, and, for arm, the closest variant. Entries with an unknown platform (attestations,
`unknown/unknown`) are never chosen.
"""

from __future__ import annotations

import platform as host_platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nodelab.errors import NodelabError

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
         "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


def host() -> Platform:
    """The platform of this machine, in OCI names."""
    machine = host_platform.machine()
    arch = _ARCH.get(machine, machine)
    variant = "v8" if arch == "arm64" else ("v7" if arch == "arm" else "")
    return Platform("linux", arch, variant)


def choose_manifest(
    manifests: Sequence[Mapping[str, object]], wanted: Platform
) -> Mapping[str, object]:
    """The index entry for `wanted`; raise NodelabError naming the platforms that exist."""
    best: Mapping[str, object] | None = None
    best_score = -1
    offered: list[str] = []
    for entry in manifests:
        plat = entry.get("platform")
        if not isinstance(plat, Mapping):
            continue
        os_name, arch = str(plat.get("os", "")), str(plat.get("architecture", ""))
        variant = str(plat.get("variant", ""))
        offered.append(str(Platform(os_name, arch, variant)))
        if os_name != wanted.os or arch != wanted.architecture:
            continue
        score = 2 if variant == wanted.variant else (1 if not variant else 0)
        if score > best_score:
            best, best_score = entry, score
    if best is None:
        raise NodelabError(
            f"image has no manifest for platform {wanted} (it offers: "
            f"{', '.join(offered) or 'none'}); pick an image built for this node"
        )
    return best
