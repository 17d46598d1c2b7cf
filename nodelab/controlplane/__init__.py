"""The embedded control plane: a Kubernetes API server that kubectl and client-go accept.

Public face:

- `ensure_pki(state_dir, hosts) -> PKI`: the lab CA, serving cert, admin client cert, and
  `PKI.node_credentials(node)` for each kubelet (`system:node:<node>`);
- `write_kubeconfig(path, server_url, ca, cert, key, user)`;
- `ApiServer(state_dir, host, port)`: an API server in this process (`start`/`stop`);
- the process: `python -m nodelab.controlplane --state-dir DIR --listen HOST:PORT`.

Inside, by role: `http/` (the HTTPS transport, routing, the handler chain `dispatch`, `errors`,
discovery, OpenAPI, tables, protobuf bodies, the `streaming` proxies to kubelets), `registry/`
(REST semantics: `rest`, `deletion`, `subresources`, patches and `server_side_apply`, defaults,
strategies, allocation), `storage/` (the `store` and `watch`), `auth/` (authentication and
authorization, tokens, PKI, CSRs, reviews), `validation/`, and the `controllers/` and
`scheduler/` that run beside the server.
"""

from nodelab.controlplane.apiserver import ApiServer
from nodelab.controlplane.auth.pki import PKI, Credentials, ensure_pki, write_kubeconfig

__all__ = ["ApiServer", "PKI", "Credentials", "ensure_pki", "write_kubeconfig"]
