"""Service account tokens for projected volumes, cached as upstream's token manager does.

Upstream's kubelet (pkg/kubelet/token/token_manager.go) keeps each TokenRequest's answer, keyed
by service account, namespace, audiences, expirationSeconds and the bound pod, and asks for a
new token only when the one it holds `requiresRefresh`: older than 80% of its lifetime, or
older than 24 hours. Requesting a token on every sync instead (as nodelab did) made the API
server sign one per pod every resync, and the projected volume was rewritten each time: with
110 pods, eleven signatures and rewrites a second.

`requires_refresh` is that rule, a pure function; `TokenCache` holds the tokens and calls the
fetch function only when the rule says so. Tokens of deleted pods are dropped by `forget`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

MAX_TTL_SECONDS = 24 * 3600.0
REFRESH_AT = 0.8  # of the token's lifetime


@dataclass(frozen=True)
class TokenKey:
    namespace: str
    service_account: str
    audiences: tuple[str, ...]
    expiration_seconds: int
    pod_name: str
    pod_uid: str


@dataclass(frozen=True)
class HeldToken:
    token: str
    issued_at: float  # seconds since the epoch, when the kubelet got it
    expires_at: float  # status.expirationTimestamp


def requires_refresh(held: HeldToken, now: float) -> bool:
    """Upstream's requiresRefresh: past 80% of the token's lifetime, or older than 24 h."""
    lifetime = held.expires_at - held.issued_at
    return now >= held.issued_at + REFRESH_AT * lifetime \
        or now >= held.issued_at + MAX_TTL_SECONDS


class TokenCache:
    """The tokens this kubelet holds; `fetch` asks the API server for a new one."""

    def __init__(self, fetch: Callable[[TokenKey], HeldToken],
                 clock: Callable[[], float]) -> None:
        self._fetch = fetch
        self._clock = clock
        self._held: dict[TokenKey, HeldToken] = {}
        self._lock = threading.Lock()

    def get(self, key: TokenKey) -> str:
        with self._lock:
            held = self._held.get(key)
        if held is None or requires_refresh(held, self._clock()):
            held = self._fetch(key)
            with self._lock:
                self._held[key] = held
        return held.token

    def forget(self, pod_uid: str) -> None:
        with self._lock:
            for key in [k for k in self._held if k.pod_uid == pod_uid]:
                del self._held[key]
