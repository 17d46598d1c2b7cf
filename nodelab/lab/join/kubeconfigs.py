"""The kubeconfigs of a joined lab, derived from the one kubeconfig the user gives.

`ClusterAccess.load(path)` reads the current context of a kubeconfig (files it names are read
relative to it and inlined), so the lab keeps its own copy (`cluster.kubeconfig`) and never
depends on the user's file again. `relayed(...)` is the same access through the lab's API
relay: `server: https://<gateway>:6443` with `tls-server-name: <original host>`, so TLS is
verified end to end against the cluster's CA. Node daemons use relayed kubeconfigs; `join`
itself (in the root namespace) and `down` use the lab's copy of the original.
"""

from __future__ import annotations

import base64
import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from nodelab.errors import NodelabError
from nodelab.host.private_files import write_private
from nodelab.kube.objects import Object

_FILE_KEYS = {"certificate-authority": "certificate-authority-data",
              "client-certificate": "client-certificate-data",
              "client-key": "client-key-data"}


def _named(items: Any, name: str, kind: str, path: Path) -> Object:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            found = item.get(kind)
            if isinstance(found, dict):
                return dict(found)
    raise NodelabError(f"kubeconfig {path}: no {kind} named {name!r} (its current context "
                       "names one that is not there)")


def _inline(section: Object, base: Path) -> Object:
    result = dict(section)
    for key, data_key in _FILE_KEYS.items():
        if key in result:
            file = Path(os.path.expanduser(str(result.pop(key))))
            file = file if file.is_absolute() else base / file
            try:
                result[data_key] = base64.b64encode(file.read_bytes()).decode()
            except OSError as exc:
                raise NodelabError(f"kubeconfig names {key} {file}, which cannot be read: "
                                   f"{exc}") from exc
    return result


@dataclass(frozen=True)
class ClusterAccess:
    """One cluster and one user, self-contained (every file inlined)."""

    cluster: Object  # server, certificate-authority-data, tls-server-name, ...
    user: Object

    @classmethod
    def load(cls, path: Path) -> ClusterAccess:
        if not path.is_file():
            raise NodelabError(
                f"kubeconfig {path} does not exist: pass the kubeconfig of the cluster to join "
                "(for kind: `kind get kubeconfig --name <cluster> > kind.kubeconfig`)")
        try:
            document = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise NodelabError(f"kubeconfig {path} cannot be read: {exc}") from exc
        if not isinstance(document, dict) or not document.get("current-context"):
            raise NodelabError(f"kubeconfig {path} has no current-context: set one "
                               "(`kubectl config use-context ...`)")
        context = _named(document.get("contexts"), str(document["current-context"]),
                         "context", path)
        cluster = _named(document.get("clusters"), str(context.get("cluster")), "cluster", path)
        user = _named(document.get("users"), str(context.get("user")), "user", path)
        if not cluster.get("server"):
            raise NodelabError(f"kubeconfig {path}: its cluster has no server")
        base = path.resolve().parent
        return cls(_inline(cluster, base), _inline(user, base))

    @property
    def server(self) -> str:
        return str(self.cluster["server"])

    @property
    def endpoint(self) -> tuple[str, int]:
        """The API server's host and port, as the root namespace reaches it."""
        parts = urlsplit(self.server)
        if parts.scheme != "https" or not parts.hostname:
            raise NodelabError(f"API server {self.server}: nodelab joins clusters over "
                               "https://HOST:PORT only")
        return parts.hostname, parts.port or 443

    @property
    def ca_pem(self) -> bytes:
        data = self.cluster.get("certificate-authority-data")
        if not data:
            raise NodelabError(
                f"the kubeconfig for {self.server} has no certificate authority: nodelab "
                "verifies the cluster's certificate, so it needs one (insecure-skip-tls-verify "
                "is not supported)")
        return base64.b64decode(str(data))

    def relayed(self, gateway: str, port: int) -> ClusterAccess:
        """The same access through the API relay on the lab gateway."""
        host = self.endpoint[0]
        cluster = copy.deepcopy(self.cluster)
        cluster["server"] = f"https://{gateway}:{port}"
        cluster.setdefault("tls-server-name", host)
        return ClusterAccess(cluster, copy.deepcopy(self.user))

    def with_user(self, user: Object) -> ClusterAccess:
        return ClusterAccess(copy.deepcopy(self.cluster), user)

    def document(self, name: str = "cluster", user: str = "user") -> Object:
        return {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": name, "cluster": self.cluster}],
            "users": [{"name": user, "user": self.user}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": user}}],
            "current-context": name, "preferences": {},
        }

    def write(self, path: Path, user: str = "user") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_private(path, yaml.safe_dump(self.document(user=user), sort_keys=False))


def client_certificate_user(cert_pem: bytes, key_pem: bytes) -> Object:
    return {"client-certificate-data": base64.b64encode(cert_pem).decode(),
            "client-key-data": base64.b64encode(key_pem).decode()}
