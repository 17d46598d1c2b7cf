"""The embedded control plane: a Kubernetes API server that kubectl and client-go accept.

Public face:

- `ensure_pki(state_dir, hosts) -> PKI`: the lab CA, serving cert, admin client cert, and
  `PKI.node_credentials(node)` for each kubelet (`system:node:<node>`);
- `write_kubeconfig(path, server_url, ca, cert, key, user)`;
- `ApiServer(state_dir, host, port)`: an API server in this process (`start`/`stop`);
- the process: `python -m nodelab.controlplane --state-dir DIR --listen HOST:PORT`.

Inside: `store` (SQLite + watch history), `rest`/`deletion`/`subresources` (REST semantics),
`validation/`, `defaults`, `strategies`, `allocation`, `auth`, `watch`, `discovery`,
`openapi`, `tables`, `streaming` (kubelet proxies), `server` (HTTPS), `dispatch` (routing).
"""

from nodelab.controlplane.apiserver import ApiServer
from nodelab.controlplane.pki import PKI, Credentials, ensure_pki, write_kubeconfig

__all__ = ["ApiServer", "PKI", "Credentials", "ensure_pki", "write_kubeconfig"]
