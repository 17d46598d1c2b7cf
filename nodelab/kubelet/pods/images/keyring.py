"""Registry credentials for a pull, from the pod's image pull secrets (upstream's
pkg/credentialprovider: keyring.go, config.go, secrets/secrets.go).

The kubelet reads each secret named in `spec.imagePullSecrets` (the ServiceAccount admission
has copied the service account's in, if the pod named none): `kubernetes.io/dockerconfigjson`
secrets hold `.dockerconfigjson` (`{"auths": {<registry>: {...}}}`), `kubernetes.io/dockercfg`
ones `.dockercfg` (`{<registry>: {...}}`). An entry's `auth` (base64 `user:password`) wins over
its `username`/`password`, as upstream's DockerConfigEntry decoding.

A keyring maps keys (`host[:port][/path]`, any scheme and a `/v1/` or `/v2/` path prefix
dropped) to credentials. `lookup(image)` returns every credential whose key matches the image's
repository (`registry[:port]/path`, tag and digest cut): host parts match one by one with
shell globs (`*.example.com`), ports must be equal, the key's path must prefix the image's;
the most specific keys come first (the index sorted in reverse); a Docker Hub image falls back
to the `index.docker.io` entry. The kubelet then tries the
credentials in that order, passing each as CRI `AuthConfig` to `PullImage`, and pulls
anonymously when none matches.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nodelab.oci.reference import DOCKER_HUB, ImageReference

DOCKER_CONFIG_JSON = ("kubernetes.io/dockerconfigjson", ".dockerconfigjson")
DOCKER_CFG = ("kubernetes.io/dockercfg", ".dockercfg")
DEFAULT_REGISTRY_HOST = "index.docker.io"  # `https://index.docker.io/v1/` in a docker config


@dataclass(frozen=True)
class AuthConfig:
    username: str = ""
    password: str = ""

    def cri(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password}


def _entry(entry: Any) -> AuthConfig:
    entry = entry if isinstance(entry, Mapping) else {}
    username, password = str(entry.get("username") or ""), str(entry.get("password") or "")
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(str(entry["auth"]), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return AuthConfig(username, password)
        user, sep, secret = decoded.partition(":")
        if sep:
            username, password = user, secret
    return AuthConfig(username, password)


def docker_config(secret: Mapping[str, Any]) -> dict[str, AuthConfig]:
    """The registry -> credentials a pull secret holds (empty: not a pull secret or unreadable)."""
    data = secret.get("data") or {}
    for key, nested in ((DOCKER_CONFIG_JSON[1], True), (DOCKER_CFG[1], False)):
        if key not in data:
            continue
        try:
            parsed = json.loads(base64.b64decode(data[key]))
        except (binascii.Error, ValueError):
            return {}
        entries = (parsed.get("auths") if nested else parsed) if isinstance(parsed, dict) else {}
        return {str(loc): _entry(e) for loc, e in (entries or {}).items()}
    return {}


def _key(location: str) -> str | None:
    value = location if location.startswith(("https://", "http://")) else "https://" + location
    try:
        parsed = urllib.parse.urlsplit(value)
    except ValueError:
        return None
    path = parsed.path
    if path.startswith(("/v2/", "/v1/")):
        path = path[3:]
    return parsed.netloc + path if path and path != "/" else parsed.netloc


def _split(url: str) -> tuple[list[str], str, str]:
    parsed = urllib.parse.urlsplit("https://" + url)
    netloc = parsed.netloc
    host, _, port = netloc.rpartition(":") if ":" in netloc else (netloc, "", "")
    return host.split("."), port, parsed.path


def urls_match(glob: str, target: str) -> bool:
    """Upstream's URLsMatchStr, both sides schemeless."""
    glob_host, glob_port, glob_path = _split(glob)
    target_host, target_port, target_path = _split(target)
    if len(glob_host) != len(target_host):
        return False
    if not all(fnmatch.fnmatchcase(t, g) for g, t in zip(glob_host, target_host, strict=True)):
        return False
    return glob_port == target_port and target_path.startswith(glob_path)


class Keyring:
    def __init__(self, configs: Iterable[Mapping[str, AuthConfig]]) -> None:
        self.creds: dict[str, list[AuthConfig]] = {}
        for config in configs:
            for location, auth in config.items():
                key = _key(location)
                if key is not None:
                    self.creds.setdefault(key, []).append(auth)
        self.index = sorted(self.creds, reverse=True)

    def lookup(self, repository: str) -> list[AuthConfig]:
        found: list[AuthConfig] = []
        for key in self.index:
            if urls_match(key, repository):
                found.extend(self.creds[key])
        if not found and repository.startswith(DOCKER_HUB + "/"):  # isDefaultRegistryMatch
            found = list(self.creds.get(DEFAULT_REGISTRY_HOST, []))
        return found


def repository_to_pull(image: str) -> str:
    """`registry[:port]/path` of an image (upstream's ParseImageName, tag and digest cut)."""
    ref = ImageReference.parse(image)
    return f"{ref.registry}/{ref.repository}"


def pull_credentials(image: str, secrets: Iterable[Mapping[str, Any]]) -> list[AuthConfig]:
    """The credentials to try, in order, for pulling `image` with these pull secrets."""
    return Keyring(docker_config(s) for s in secrets).lookup(repository_to_pull(image))


Fetch = Callable[[str, str, str], Mapping[str, Any] | None]  # (kind, namespace, name)


def pod_pull_credentials(pod: Mapping[str, Any], image: str, fetch: Fetch
                         ) -> tuple[list[AuthConfig], list[str]]:
    """The credentials for `image` from the pod's `imagePullSecrets`, and the names of those
    that could not be read (upstream's getPullSecretsForPod skips them)."""
    namespace = pod["metadata"]["namespace"]
    secrets, missing = [], []
    for ref in (pod.get("spec") or {}).get("imagePullSecrets") or []:
        if not ref.get("name"):
            continue
        found = fetch("secrets", namespace, ref["name"])
        if found is None:
            missing.append(ref["name"])
        else:
            secrets.append(found)
    return pull_credentials(image, secrets), missing
