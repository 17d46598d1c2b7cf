"""Who may push to the lab registry: nodelab itself, with credentials kept in the lab's state.

`docker-registry`'s htpasswd auth guards every request, pulls included, so the lab runs two
registries over one storage directory (`daemon.py`): the one pods and runtimes pull from
anonymously (read-only) and a push endpoint that wants these credentials. They are made once
per lab: a random password (`secrets.token_urlsafe`) and its bcrypt htpasswd entry (the only
hash docker-registry accepts), both created 0600 (`host/private_files.py`) in the registry's
directory under the 0700 lab state, so only root reads them. Every push nodelab makes (the demo
images, the cluster DNS and metrics-server images) goes through `push_client`.

The bcrypt cost is `BCRYPT_COST`, 5, the default of Apache's `htpasswd -B`, not the bcrypt
library's 12: docker-registry checks the hash on every request (a push is a dozen requests per
image), and at cost 12 each check takes ~0.4 s on a 2-core machine, ~20 s per `up`. The cost
slows guessing a password from its hash; this password is 256 random bits, which no cost
factor makes any easier or harder to guess.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from nodelab.host.private_files import write_private
from nodelab.lab.context import LabContext
from nodelab.oci.distribution import RegistryClient

USERNAME = "nodelab"
HTPASSWD = "push.htpasswd"
PASSWORD = "push.password"
BCRYPT_COST = 5


@dataclass(frozen=True)
class PushCredentials:
    username: str
    password: str


def htpasswd_entry(username: str, password: str) -> str:
    """One htpasswd line with a bcrypt hash (cost `BCRYPT_COST`, as `htpasswd -B`)."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_COST)).decode()
    return f"{username}:{hashed}\n"


def ensure_push_credentials(directory: Path) -> PushCredentials:
    """The lab's push credentials, made on the first call (the htpasswd first: a password file
    without its htpasswd never exists, so a crash between the two makes both again)."""
    password_file, htpasswd = directory / PASSWORD, directory / HTPASSWD
    if password_file.exists() and htpasswd.exists():
        return PushCredentials(USERNAME, password_file.read_text().strip())
    password = secrets.token_urlsafe(32)
    write_private(htpasswd, htpasswd_entry(USERNAME, password))
    write_private(password_file, password + "\n")
    return PushCredentials(USERNAME, password)


def push_client(ctx: LabContext) -> RegistryClient:
    """A client of the lab's push endpoint, with the lab's credentials."""
    credentials = ensure_push_credentials(ctx.paths.registry)
    return RegistryClient(ctx.topology.registry_push, scheme="http",
                          username=credentials.username, password=credentials.password)
