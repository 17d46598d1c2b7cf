"""Image references as container runtimes read them (`registry/repo:tag@digest`).

The rules are the Docker/distribution ones: a first path component with a `.` or `:` or equal to
`localhost` is a registry host; otherwise the image is on Docker Hub (`docker.io`, served by
`registry-1.docker.io`), and one-component names live under `library/`. No tag and no digest means
`latest`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nodelab.errors import NodelabError

DOCKER_HUB = "docker.io"
DOCKER_HUB_ENDPOINT = "registry-1.docker.io"

_REPO_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


class InvalidImageReference(NodelabError):
    """A string that is not an image reference (the kubelet's InvalidImageName)."""


@dataclass(frozen=True)
class ImageReference:
    """A parsed image reference; `str()` gives its fully qualified form."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, ref: str) -> ImageReference:
        if not ref or ref != ref.strip() or any(c.isspace() for c in ref):
            raise InvalidImageReference(f"invalid image reference {ref!r}: empty or has spaces")
        rest, digest = ref, None
        if "@" in rest:
            rest, digest = rest.split("@", 1)
            if not re.match(r"^sha256:[0-9a-f]{64}$", digest):
                raise InvalidImageReference(f"invalid digest in image reference {ref!r}")
        tag = None
        last = rest.rsplit("/", 1)[-1]
        if ":" in last:
            rest, tag = rest.rsplit(":", 1)
            if not _TAG.match(tag):
                raise InvalidImageReference(f"invalid tag {tag!r} in image reference {ref!r}")
        parts = rest.split("/")
        if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
            registry, path = parts[0], parts[1:]
        else:
            registry, path = DOCKER_HUB, parts
        if registry == DOCKER_HUB and len(path) == 1:
            path = ["library", *path]
        for component in path:
            if not _REPO_COMPONENT.match(component):
                raise InvalidImageReference(
                    f"invalid repository name {'/'.join(path)!r} in image reference {ref!r}: "
                    "use lowercase letters, digits and separators . _ -"
                )
        if tag is None and digest is None:
            tag = "latest"
        return cls(registry=registry, repository="/".join(path), tag=tag, digest=digest)

    @property
    def endpoint(self) -> str:
        """The host[:port] to talk to for this registry."""
        return DOCKER_HUB_ENDPOINT if self.registry == DOCKER_HUB else self.registry

    @property
    def reference(self) -> str:
        """What to ask the registry's manifest endpoint for: the digest if pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text
