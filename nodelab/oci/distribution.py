"""A client for the OCI distribution API (what `docker pull`/`push` speak to a registry).

Endpoints used: `GET /v2/` (auth probe), `GET|HEAD /v2/<repo>/manifests/<ref>`,
`GET|HEAD /v2/<repo>/blobs/<digest>`, `POST /v2/<repo>/blobs/uploads/` then a monolithic
`PUT <location>?digest=...`, and `PUT /v2/<repo>/manifests/<tag>`.

Authentication follows the registry's `WWW-Authenticate` challenge: anonymous first; `Basic` with
the configured credentials; `Bearer realm=...,service=...,scope=...` by fetching a token from the
realm (with the credentials, if any) and retrying once, as Docker Hub requires.

Every blob and every manifest fetched by digest is verified before it is returned or kept: a
mismatch raises `DigestMismatch` and the partial download is deleted.

A registry is untrusted input, so the client also caps what it reads and guards where
credentials go:

- a manifest is at most 4 MiB (`MAX_MANIFEST_BYTES`, containerd's limit); a blob at most the
  size its descriptor names (reading stops one byte past it);
- Basic credentials go to a token realm only over https on the registry's own host (or plain
  http on that host when the registry itself is an insecure one): a registry cannot send them
  elsewhere by naming a realm; Docker Hub (realm `auth.docker.io`) then gets anonymous token
  requests;
- the `Authorization` header is dropped when a redirect leads to another host (registries
  redirect blob downloads to storage hosts, which must not see the registry's token).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from nodelab.errors import NodelabError
from nodelab.oci.digests import DigestMismatch, sha256_digest, validate_digest
from nodelab.oci.mediatypes import MANIFEST_ACCEPT

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes total) while a blob downloads; total is 0 when unknown."""

_CHUNK = 1 << 20
MAX_MANIFEST_BYTES = 4 << 20


class _SameHostAuthorization(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but never carry `Authorization` to another host."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: Any, newurl: str) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _host(newurl) != _host(req.full_url):
            new.remove_header("Authorization")
            new.unredirected_hdrs.pop("Authorization", None)
        return new


def _host(url: str) -> tuple[str, int | None]:
    parts = urllib.parse.urlsplit(url)
    return (parts.hostname or "", parts.port)


class RegistryError(NodelabError):
    """A failed registry request; the message names the registry, the request and the answer."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Manifest:
    """A manifest or index as served: its bytes, media type and digest."""

    body: bytes
    media_type: str
    digest: str

    def json(self) -> dict[str, object]:
        data: dict[str, object] = json.loads(self.body)
        return data


class RegistryClient:
    """Talks to one registry (`host[:port]`) over http or https."""

    def __init__(
        self,
        registry: str,
        *,
        scheme: str = "https",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.registry = registry
        self.base = f"{scheme}://{registry}"
        self._credentials = (username, password) if username is not None else None
        self._timeout = timeout
        self._token: dict[str, str] = {}  # scope -> bearer token
        self._scheme = scheme
        self._opener = urllib.request.build_opener(_SameHostAuthorization())

    # --- manifests -------------------------------------------------------------------------

    def get_manifest(
        self, repository: str, reference: str, accept: Sequence[str] = MANIFEST_ACCEPT
    ) -> Manifest:
        """Fetch a manifest or index by tag or digest; a digest reference is verified."""
        response = self._request(
            "GET", repository, f"/v2/{repository}/manifests/{reference}",
            headers={"Accept": ", ".join(accept)},
        )
        with response:
            if int(response.headers.get("Content-Length") or 0) > MAX_MANIFEST_BYTES:
                raise RegistryError(f"{self.registry}: manifest {repository}:{reference} is "
                                    f"larger than {MAX_MANIFEST_BYTES} bytes; refusing it")
            body = response.read(MAX_MANIFEST_BYTES + 1)
            if len(body) > MAX_MANIFEST_BYTES:
                raise RegistryError(f"{self.registry}: manifest {repository}:{reference} is "
                                    f"larger than {MAX_MANIFEST_BYTES} bytes; refusing it")
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        digest = sha256_digest(body)
        if reference.startswith("sha256:") and digest != reference:
            raise DigestMismatch(f"manifest {repository}@{reference}", reference, digest)
        if not media_type or media_type == "application/json":
            media_type = str(json.loads(body).get("mediaType", media_type))
        return Manifest(body=body, media_type=media_type, digest=digest)

    def put_manifest(self, repository: str, tag: str, body: bytes, media_type: str) -> str:
        """Upload a manifest under `tag`; returns its digest."""
        self._request(
            "PUT", repository, f"/v2/{repository}/manifests/{tag}", data=body,
            headers={"Content-Type": media_type}, push=True,
        ).close()
        return sha256_digest(body)

    # --- blobs -----------------------------------------------------------------------------

    def blob_exists(self, repository: str, digest: str) -> bool:
        try:
            self._request("HEAD", repository, f"/v2/{repository}/blobs/{digest}").close()
        except RegistryError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def get_blob(
        self, repository: str, digest: str, dest: IO[bytes], progress: Progress | None = None,
        size: int | None = None,
    ) -> int:
        """Stream a blob into `dest`, verifying its digest; returns its size in bytes.

        With `size` (the descriptor's), a blob announcing or sending more is refused.
        """
        validate_digest(digest)
        hasher = hashlib.sha256()
        done = 0
        with self._request("GET", repository, f"/v2/{repository}/blobs/{digest}") as response:
            total = int(response.headers.get("Content-Length") or 0)
            if size is not None and total > size:
                raise self._too_large(repository, digest, size)
            while chunk := response.read(_CHUNK if size is None else min(_CHUNK, size + 1 - done)):
                done += len(chunk)
                if size is not None and done > size:
                    raise self._too_large(repository, digest, size)
                hasher.update(chunk)
                dest.write(chunk)
                if progress:
                    progress(done, total)
        actual = "sha256:" + hasher.hexdigest()
        if actual != digest:
            raise DigestMismatch(f"blob {repository}@{digest}", digest, actual)
        return done

    def _too_large(self, repository: str, digest: str, size: int) -> RegistryError:
        return RegistryError(f"{self.registry}: blob {repository}@{digest} is larger than the "
                             f"{size} bytes its descriptor names; refusing it")

    def get_blob_to_file(
        self, repository: str, digest: str, path: Path, progress: Progress | None = None,
        size: int | None = None,
    ) -> int:
        """Download a blob to `path` atomically: on any failure nothing is left at `path`."""
        partial = path.with_name(path.name + ".partial")
        try:
            with open(partial, "wb") as out:
                size = self.get_blob(repository, digest, out, progress, size)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return size

    def push_blob(self, repository: str, data: bytes) -> str:
        """Upload a blob unless the registry has it already; returns its digest."""
        digest = sha256_digest(data)
        if self.blob_exists(repository, digest):
            return digest
        response = self._request(
            "POST", repository, f"/v2/{repository}/blobs/uploads/", data=b"", push=True
        )
        with response:
            location = response.headers.get("Location")
        if not location:
            raise RegistryError(f"{self.registry}: upload for {repository} gave no Location")
        url = urllib.parse.urljoin(self.base + "/", location)
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"digest": digest})
        self._request(
            "PUT", repository, url, data=data,
            headers={"Content-Type": "application/octet-stream"}, push=True,
        ).close()
        return digest

    # --- transport -------------------------------------------------------------------------

    def ping(self) -> None:
        """Check that the registry answers the API base (`GET /v2/`)."""
        self._request("GET", "", "/v2/").close()

    def _request(
        self,
        method: str,
        repository: str,
        path_or_url: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        push: bool = False,
    ) -> urllib.request._UrlopenRet:
        url = path_or_url if "://" in path_or_url else self.base + path_or_url
        scope = f"repository:{repository}:{'pull,push' if push else 'pull'}" if repository else ""
        for attempt in range(2):
            request = urllib.request.Request(url, data=data, method=method)
            for key, value in (headers or {}).items():
                request.add_header(key, value)
            auth = self._authorization(scope)
            if auth:
                request.add_header("Authorization", auth)
            try:
                return self._opener.open(request, timeout=self._timeout)
            except urllib.error.HTTPError as exc:
                challenge = exc.headers.get("WWW-Authenticate", "")
                if exc.code == 401 and attempt == 0 and self._answer(challenge, scope):
                    continue
                detail = _error_detail(exc)
                raise RegistryError(
                    f"{self.registry}: {method} {urllib.parse.urlsplit(url).path} "
                    f"answered {exc.code} {exc.reason}{detail}",
                    exc.code,
                ) from None
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise RegistryError(
                    f"cannot reach registry {self.registry} ({reason}); is it running? "
                    "(`nodelab status` shows the lab registry)"
                ) from None
        raise AssertionError("unreachable")

    def _authorization(self, scope: str) -> str | None:
        if scope in self._token:
            return f"Bearer {self._token[scope]}"
        if self._credentials and "basic" in self._token:
            user, password = self._credentials
            raw = f"{user}:{password or ''}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        return None

    def _may_send_credentials(self, realm: str) -> bool:
        """Only to the registry's own host, over https (or http if the registry is http)."""
        parts = urllib.parse.urlsplit(realm)
        own = urllib.parse.urlsplit(self.base)
        secure = parts.scheme == "https" or (parts.scheme == "http" and self._scheme == "http")
        return secure and parts.hostname == own.hostname

    def _answer(self, challenge: str, scope: str) -> bool:
        """Prepare credentials for a 401 challenge; False when there is nothing to try."""
        kind, _, params_text = challenge.partition(" ")
        if kind.lower() == "basic":
            if not self._credentials or "basic" in self._token:
                return False
            self._token["basic"] = "1"
            return True
        if kind.lower() != "bearer":
            return False
        params = dict(re.findall(r'(\w+)="([^"]*)"', params_text))
        realm = params.get("realm")
        if not realm:
            return False
        query = {"service": params.get("service", "")}
        if params.get("scope") or scope:
            query["scope"] = params.get("scope") or scope
        request = urllib.request.Request(realm + "?" + urllib.parse.urlencode(query))
        if self._credentials and self._may_send_credentials(realm):
            user, password = self._credentials
            raw = f"{user}:{password or ''}".encode()
            request.add_header("Authorization", "Basic " + base64.b64encode(raw).decode())
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                answer = json.loads(response.read(MAX_MANIFEST_BYTES))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise RegistryError(
                f"{self.registry}: token request to {realm} failed: {exc}"
            ) from None
        token = answer.get("token") or answer.get("access_token")
        if not token:
            return False
        self._token[scope] = token
        return True


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        errors = json.loads(exc.read()).get("errors", [])
    except (ValueError, OSError, AttributeError):
        return ""
    if not errors:
        return ""
    return ": " + "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
