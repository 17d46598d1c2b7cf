"""The embedded control plane: a Kubernetes API server that kubectl and client-go accept.

Public face:

- `ensure_pki(state_dir, hosts) -> PKI`: the lab CA, serving cert, admin client cert, and
  `PKI.node_credentials(node)` for each kubelet (`system:node:<node>`);
- `write_kubeconfig(path, server_url, ca, cert, key, user)`;
- `ApiServer(state_dir, host, port)`: an API server in this process (`start`/`stop`);
- the process: `python -m nodelab.controlplane --state-dir DIR --listen HOST:PORT`.

Inside, by layer (each imports only those below it; import-linter checks it, see pyproject.toml):

    __main__, apiserver        the process and the assembly
    http/                      HTTPS transport, routing, the handler chain `dispatch`, discovery,
                               OpenAPI, tables, protobuf, watch streams, proxies to kubelets
    bootstrap                  what a fresh cluster has
    registry/                  REST semantics: rest, deletion, subresources, patches,
                               server_side_apply, defaults, strategies, allocation, reviews
    apiextensions/             CustomResourceDefinitions and their custom resources
    validation/                upstream's validation rules
    auth/                      authentication, authorization, tokens, PKI, CSRs
    storage/                   the store and selectors
    resources, errors          the resource types served; API errors as metav1.Status

`controllers/` and `scheduler/` run beside the server as its clients (over HTTPS, with
nodelab's small REST client): they import nothing of the server's layers. So that their
process does not load the server's either (validation, tokens, OpenAPI: ~25 MiB), the names
above are imported on first use (PEP 562), not when the package is.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nodelab.controlplane.apiserver import ApiServer
    from nodelab.controlplane.auth.pki import PKI, Credentials, ensure_pki, write_kubeconfig

__all__ = ["PKI", "ApiServer", "Credentials", "ensure_pki", "write_kubeconfig"]

_HOMES = {"ApiServer": "nodelab.controlplane.apiserver", "PKI": "nodelab.controlplane.auth.pki",
          "Credentials": "nodelab.controlplane.auth.pki",
          "ensure_pki": "nodelab.controlplane.auth.pki",
          "write_kubeconfig": "nodelab.controlplane.auth.pki"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
